/** buildspec.yml, read as CodeBuild reads it (YAML, version 0.2). */
import { readFileSync } from 'fs';
import { join } from 'path';
import { parse } from 'yaml';

const buildspec = parse(readFileSync(join(__dirname, '../../buildspec.yml'), 'utf8'));

test('is a version 0.2 buildspec on the Node 22 runtime', () => {
  expect(buildspec.version).toBe(0.2);
  expect(buildspec.phases.install['runtime-versions']).toEqual({ nodejs: 22 });
});

test('installs Terraform from the verified release archive, then npm ci, then cleans up after killed builds', () => {
  expect(buildspec.phases.install.commands).toEqual(['bash test/e2e/install-terraform.sh']);
  expect(buildspec.env.variables.TERRAFORM_ARCH).toBe('linux_arm64');
  expect(buildspec.phases.pre_build.commands).toEqual(['npm ci', 'npx ts-node --transpile-only test/e2e/destroy-orphans.ts']);
});

test('runs only the e2e jest project, with the JUnit reporter, and destroys in finally', () => {
  expect(buildspec.phases.build.commands).toEqual(['npx jest --selectProjects e2e --ci --reporters=default --reporters=jest-junit']);
  expect(buildspec.phases.build.finally).toEqual(['npx ts-node --transpile-only test/e2e/destroy.ts']);
});

test('publishes the JUnit file jest-junit writes as a CodeBuild test report', () => {
  const { JEST_JUNIT_OUTPUT_DIR, JEST_JUNIT_OUTPUT_NAME } = buildspec.env.variables;
  expect(Object.values(buildspec.reports)).toEqual([
    { 'base-directory': JEST_JUNIT_OUTPUT_DIR, files: [JEST_JUNIT_OUTPUT_NAME], 'file-format': 'JUNITXML' },
  ]);
});
