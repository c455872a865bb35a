// Four suites: unit (synth assertions, no root), lab (network namespaces, needs root),
// terraform (the real Terraform CLI and AWS provider against the moto API emulator),
// e2e (real AWS, run by the pipeline only). Type checking is `npm run typecheck`;
// tsconfig's isolatedModules makes ts-jest only transpile, so each test file starts fast.
const transform = { '^.+\\.ts$': 'ts-jest' };
const common = { testEnvironment: 'node', transform, moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'lab', testMatch: ['<rootDir>/test/lab/**/*.test.ts'] },
    { ...common, displayName: 'terraform', testMatch: ['<rootDir>/test/terraform/**/*.test.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
  ],
};
