// Five suites: unit (synth assertions, no root), lab (network namespaces, needs root),
// terraform (the real Terraform CLI and AWS provider against the moto API emulator),
// package (npm pack, and a consumer project that installs the tarball offline),
// e2e (real AWS, run by the pipeline only). Type checking is `npm run typecheck`;
// tsconfig's isolatedModules makes ts-jest only transpile, so each test file starts fast.
const transform = { '^.+\\.ts$': 'ts-jest' };
const common = { testEnvironment: 'node', transform, moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'lab', testMatch: ['<rootDir>/test/lab/**/*.test.ts'] },
    { ...common, displayName: 'terraform', testMatch: ['<rootDir>/test/terraform/**/*.test.ts'] },
    {
      ...common,
      displayName: 'package',
      testMatch: ['<rootDir>/test/package/**/*.test.ts'],
      // The consumer's stacks import the package by name; in-process that name is our sources.
      moduleNameMapper: { '^cdktf-nat-instance$': '<rootDir>/index.ts' },
    },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
  ],
};
