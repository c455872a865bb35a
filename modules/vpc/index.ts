export * from './network';
export * from './ssm-endpoints';
