export * from './private-test-instances';
