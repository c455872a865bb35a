// The package's public API: every construct and its props, re-exported from the module folders.
export * from './modules/vpc';
export * from './modules/nat';
export * from './modules/iam';
export * from './modules/connectivity';
export * from './modules/test-pipeline';
export type { SubnetInfo, SubnetListInfo } from './modules/shared/subnet';
