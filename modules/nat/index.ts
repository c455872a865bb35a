export * from './boot-settings';
export * from './nat-instance-props';
export * from './nat-instance';
export * from './user-data';
export * from './ami';
export * from './existing-instance-nat';
export * from './nat-auto-scaling-group';
