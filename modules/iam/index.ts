export * from './ssm-instance-role';
export * from './route-claim-policy';
export * from './self-healing-policy';
export * from './nat-group-agent-policy';
export * from './metrics-policy';
