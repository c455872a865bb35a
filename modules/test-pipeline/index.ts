export * from './secure-bucket';
export * from './github-connection';
export * from './service-trust-policy';
export * from './e2e-build-policy';
export * from './e2e-build-project';
export * from './test-pipeline';
