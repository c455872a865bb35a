export * from './private-test-instances';
export * from './connectivity-document';
