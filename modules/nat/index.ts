export * from './boot-settings';
export * from './nat-instance-props';
export * from './nat-instance';
export * from './user-data';
export * from './ami';
export * from './existing-instance-nat';
export * from './nat-alarms';
export { METRICS_NAMESPACE, METRICS_DIMENSION, METRIC_NAMES, OWNED_ROUTE_TABLES_PATH } from './metrics-settings';
