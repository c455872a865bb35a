export * from './lab-vpc';
export * from './loopback-bridge';
export * from './probes';
export * from './shell';
export * from './synthesized-user-data';
export * from './terraform-string-double';
export * from './group-lab';
