export * from './ssm-instance-role';
