import {
  AMI_ID,
  EIP_ALLOCATION_ID,
  iamNameRule,
  SNS_TOPIC_ARN,
  INSTANCE_TYPE,
  KEY_PAIR_NAME,
  ROUTE_TABLE_ID,
  SECURITY_GROUP_ID,
  SUBNET_ID,
  TAGS,
  VPC_ID,
} from '../shared/aws-rules';
import type { Setting } from '../shared/setting-rules';
import { NAME_RULES } from './resource-names';

/**
 * The settings of the NAT constructs and their rules: the one table from which the constructs'
 * synth checks (`nat-validation.ts`), the plain-Terraform module's `validation` blocks
 * (`stacks/nat-module.ts`) and the settings tables of the READMEs (`npm run docs`) are produced.
 * The boot script checks the values that reach it on its own; a unit test
 * (`test/unit/boot-script-rules.test.ts`) runs its checks against every rule here that names a `setting`.
 *
 * Add a setting here first; the checks, the validation blocks and the docs follow.
 */

const CIDR = { kind: 'cidr' } as const;

/** A table keyed by name; every entry typed as a `Setting`. */
const table = <K extends string>(settings: Record<K, Setting>): Record<K, Setting> => settings;

const name: Setting = {
  prop: 'name',
  variable: 'name',
  type: 'string',
  rules: NAME_RULES,
  default: 'nat-instance',
  summary: 'Name prefix of every resource',
};
const vpcId: Setting = { prop: 'vpcId', variable: 'vpc_id', type: 'string', rules: [VPC_ID], summary: 'The VPC the NAT serves' };
const routeTableIds: Setting = {
  prop: 'routeTableIds',
  variable: 'route_table_ids',
  setting: 'NAT_ROUTE_TABLE_IDS',
  type: 'list(string)',
  rules: [ROUTE_TABLE_ID],
  list: { minItems: 1, unique: true },
  summary: 'Route tables whose 0.0.0.0/0 is pointed at the NAT',
};
const conntrackMax: Setting = {
  prop: 'conntrackMax',
  setting: 'NAT_CONNTRACK_MAX',
  type: 'number',
  // Below ~1k a NAT drops connections at once; above 64 Mi entries the table outgrows small instances.
  rules: [{ kind: 'integer', min: 1024, max: 67108864 }],
  default: 262144,
  summary: 'Connection-tracking table size',
};

/** One switch of `alarms`: on unless set to false. */
function alarmSwitch(prop: string, variable: string, summary: string): Setting {
  return { prop: `alarms.${prop}`, variable, type: 'bool', rules: [], default: true, summary };
}

/** `NatInstance` props (and the module variables that feed them). */
export const NAT_INSTANCE_SETTINGS = table({
  name,
  vpcId,
  mode: {
    prop: 'mode',
    variable: 'mode',
    setting: 'NAT_MODE',
    type: 'string',
    rules: [{ kind: 'oneOf', values: ['single', 'dual'] }],
    default: 'single',
    summary: 'One interface, or a second one in a private subnet for the private side',
  },
  publicSubnetId: {
    prop: 'publicSubnet.id',
    variable: 'public_subnet_id',
    type: 'string',
    rules: [SUBNET_ID],
    summary: "The public subnet of the NAT's primary interface",
  },
  publicSubnetCidr: { prop: 'publicSubnet.cidrBlock', type: 'string', rules: [CIDR], summary: 'Its CIDR block (looked up by the module)' },
  privateSubnetIds: {
    prop: 'privateSubnets',
    variable: 'private_subnet_ids',
    type: 'list(string)',
    rules: [SUBNET_ID],
    list: { minItems: 1, unique: true },
    summary: 'The private subnets whose traffic the NAT translates (`.id` of each)',
  },
  privateSubnetCidrs: {
    prop: 'privateSubnets',
    setting: 'NAT_PRIVATE_CIDRS',
    type: 'list(string)',
    rules: [CIDR],
    list: { minItems: 1 },
    summary: 'Their CIDR blocks (`.cidrBlock`; looked up by the module), plus `additionalCidrs`, are translated',
  },
  forwardingSubnetCidr: {
    prop: 'forwardingSubnet.cidrBlock',
    setting: 'NAT_FORWARDING_SUBNET_CIDR',
    type: 'string',
    rules: [CIDR],
    defaultText: 'privateSubnets[0]',
    summary: "Dual mode: the forwarding interface's subnet, one of the private subnets",
  },
  forwardingSubnetId: {
    prop: 'forwardingSubnet.id',
    type: 'string',
    rules: [SUBNET_ID],
    defaultText: 'privateSubnets[0]',
    summary: 'Dual mode: its ID',
  },
  routeTableIds,
  routeMode: {
    prop: 'routeMode',
    setting: 'NAT_ROUTE_MODE',
    type: 'string',
    rules: [{ kind: 'oneOf', values: ['terraform', 'self-claim'] }],
    default: 'terraform',
    summary: 'Who points the route tables at the NAT: Terraform, or the instance at every boot',
  },
  elasticIp: {
    prop: 'elasticIp',
    variable: 'elastic_ip',
    type: 'bool',
    rules: [],
    default: true,
    summary: 'An Elastic IP on the public interface',
  },
  elasticIpAllocationIds: {
    prop: 'elasticIpAllocationIds',
    variable: 'eip_allocation_ids',
    type: 'list(string)',
    rules: [EIP_ALLOCATION_ID],
    list: { unique: true },
    default: [],
    summary: 'Elastic IPs you own, on the first public addresses; only associated, never released by destroy (needs `elasticIp`)',
  },
  publicIpCount: {
    prop: 'publicIpCount',
    variable: 'public_ip_count',
    setting: 'NAT_PUBLIC_ADDRESS_COUNT',
    type: 'number',
    // EC2's largest interfaces carry 50; the instance type's own limit is checked separately.
    rules: [{ kind: 'integer', min: 1, max: 50 }],
    defaultText: 'one per owned Elastic IP, at least 1',
    summary: "Public addresses, each with an Elastic IP: 64,512 connections per destination each; at most the type's per-interface limit",
  },
  instanceType: {
    prop: 'instanceType',
    variable: 'instance_type',
    type: 'string',
    rules: [INSTANCE_TYPE],
    default: 't4g.nano',
    summary: 'EC2 instance type',
  },
  fallbackInstanceTypes: {
    prop: 'fallbackInstanceTypes',
    variable: 'fallback_instance_types',
    type: 'list(string)',
    rules: [INSTANCE_TYPE],
    list: { unique: true },
    default: [],
    summary: 'Self-healing: more instance types, in order of preference after `instanceType`, of its architecture',
  },
  spot: {
    prop: 'spot',
    variable: 'spot',
    type: 'bool',
    rules: [],
    default: false,
    summary: 'Self-healing: Spot capacity; a reclaimed instance is replaced like a failed one',
  },
  amiId: { prop: 'amiId', type: 'string', rules: [AMI_ID], defaultText: 'the latest Amazon Linux 2023 AMI', summary: 'A custom AMI' },
  architecture: {
    prop: 'architecture',
    type: 'string',
    rules: [{ kind: 'oneOf', values: ['arm64', 'x86_64'] }],
    defaultText: 'derived from instanceType',
    summary: 'Needed only when the instance type is a Terraform token',
  },
  additionalCidrs: {
    prop: 'additionalCidrs',
    variable: 'additional_cidrs',
    setting: 'NAT_PRIVATE_CIDRS',
    type: 'list(string)',
    rules: [CIDR],
    list: {
      anySourceOptIn: {
        prop: 'allowAnyClientSource',
        variable: 'allow_any_client_source',
        reach: 'every port of the NAT (and its forwarding)',
      },
    },
    default: [],
    summary: 'More clients (peered VPCs, Transit Gateway ranges), admitted on every port and translated',
  },
  allowAnyClientSource: {
    prop: 'allowAnyClientSource',
    variable: 'allow_any_client_source',
    type: 'bool',
    rules: [],
    default: false,
    summary: '`additionalCidrs` may cover 2^25 addresses or more (the internet)',
  },
  additionalSecurityGroupIds: {
    prop: 'additionalSecurityGroupIds',
    variable: 'additional_security_group_ids',
    type: 'list(string)',
    rules: [SECURITY_GROUP_ID],
    list: { unique: true },
    default: [],
    summary: 'Security groups whose members may use the NAT',
  },
  keyName: { prop: 'keyName', type: 'string', rules: [KEY_PAIR_NAME], summary: 'An EC2 key pair for SSH' },
  sshCidrs: {
    prop: 'sshCidrs',
    type: 'list(string)',
    rules: [CIDR],
    list: { anySourceOptIn: { prop: 'allowAnySshSource', reach: 'SSH on the NAT' } },
    default: [],
    summary: 'Sources admitted to SSH on the NAT',
  },
  allowAnySshSource: {
    prop: 'allowAnySshSource',
    type: 'bool',
    rules: [],
    default: false,
    summary: '`sshCidrs` may cover 2^25 addresses or more (the internet)',
  },
  instanceProfileName: {
    prop: 'instanceProfileName',
    type: 'string',
    rules: [iamNameRule('an instance-profile name', 128)],
    defaultText: 'a new role with SSM core access',
    summary: 'Your own instance profile',
  },
  instanceRoleName: {
    prop: 'instanceRoleName',
    type: 'string',
    rules: [iamNameRule('an IAM role name', 64)],
    defaultText: "none: attach the NAT's policies to your role yourself",
    summary: 'The role of your instance profile: the metrics and route-claim policies are attached to it',
  },
  interfaceWaitSeconds: {
    prop: 'interfaceWaitSeconds',
    setting: 'NAT_INTERFACE_WAIT_SECONDS',
    type: 'number',
    // 0: look once, do not wait (an interface attached at launch is there when the script runs).
    rules: [{ kind: 'integer', min: 0, max: 3600 }],
    default: 120,
    summary: 'How long the boot script waits for a late-attached second interface',
  },
  conntrackMax,
  metrics: {
    prop: 'metrics',
    variable: 'metrics',
    type: 'bool',
    rules: [],
    default: true,
    summary:
      "A publisher on the instance: EgressProbe and ConntrackUsePercent to CloudWatch every minute (a NatGroup member's health agent publishes them, and OwnedRouteTables)",
  },
  egressProbeUrl: {
    prop: 'egressProbeUrl',
    type: 'string',
    rules: [{ kind: 'pattern', pattern: '^https?://[^ ]+$', shape: 'an http or https URL' }],
    default: 'https://checkip.amazonaws.com/',
    summary: "What the publisher's egress probe fetches through the public interface",
  },
  alarmRecover: alarmSwitch(
    'recoverOnSystemFailure',
    'alarm_recover_on_system_failure',
    'A failed system status check: EC2 recovers the instance on healthy hardware',
  ),
  alarmReboot: alarmSwitch(
    'rebootOnInstanceFailure',
    'alarm_reboot_on_instance_failure',
    'A failed instance status check: EC2 reboots the instance',
  ),
  alarmEgressProbe: alarmSwitch(
    'egressProbe',
    'alarm_egress_probe',
    'The egress probe failing (or no data) for 3 minutes (needs `metrics`)',
  ),
  alarmConnectionTracking: alarmSwitch(
    'connectionTracking',
    'alarm_connection_tracking',
    'Connection tracking above 80 % for 3 minutes (needs `metrics`)',
  ),
  alarmTopicArn: {
    prop: 'alarms.topicArn',
    variable: 'alarm_topic_arn',
    type: 'string',
    rules: [SNS_TOPIC_ARN],
    defaultText: 'no notifications',
    summary: 'An SNS topic told when any alarm fires and when it clears',
  },
  rootVolumeSize: {
    prop: 'rootVolumeSize',
    type: 'number',
    rules: [{ kind: 'integer', min: 8, max: 16384 }],
    default: 8,
    summary: 'Root volume size in GiB',
  },
  tags: TAGS,
});

/**
 * The attributes of one port forward (`portForwards[i].<prop>`, the module's
 * `port_forwards[*].<variable>`, one field of a `NAT_PORT_FORWARD` line).
 */
export const PORT_FORWARD_SETTINGS = table({
  protocol: {
    prop: 'protocol',
    variable: 'protocol',
    setting: 'NAT_PORT_FORWARD',
    type: 'string',
    rules: [{ kind: 'oneOf', values: ['tcp', 'udp'] }],
    default: 'tcp',
    summary: 'Protocol',
  },
  publicPort: {
    prop: 'publicPort',
    variable: 'public_port',
    setting: 'NAT_PORT_FORWARD',
    type: 'number',
    rules: [{ kind: 'integer', min: 1, max: 65535 }],
    summary: "The port clients connect to on the NAT's public address",
  },
  targetIp: {
    prop: 'targetIp',
    variable: 'target_ip',
    setting: 'NAT_PORT_FORWARD',
    type: 'string',
    rules: [{ kind: 'ipv4' }],
    summary: 'A usable address in one of the private subnets (not one of the five AWS reserves)',
  },
  targetPort: {
    prop: 'targetPort',
    variable: 'target_port',
    setting: 'NAT_PORT_FORWARD',
    type: 'number',
    rules: [{ kind: 'integer', min: 1, max: 65535 }],
    summary: 'The port on the target',
  },
  allowedCidrs: {
    prop: 'allowedCidrs',
    variable: 'allowed_cidrs',
    setting: 'NAT_PORT_FORWARD',
    type: 'list(string)',
    rules: [CIDR],
    list: { minItems: 1, anySourceOptIn: { prop: 'allowAnySource', variable: 'allow_any_source', reach: 'the forwarded port' } },
    summary: 'Clients allowed to use the forward',
  },
  preserveClientIp: {
    prop: 'preserveClientIp',
    variable: 'preserve_client_ip',
    setting: 'NAT_PORT_FORWARD',
    type: 'bool',
    rules: [],
    default: true,
    summary: "The target sees the client's address (`preserve`), or the NAT's (`masquerade`)",
  },
  allowAnySource: {
    prop: 'allowAnySource',
    variable: 'allow_any_source',
    type: 'bool',
    rules: [],
    default: false,
    summary: '`allowedCidrs` may cover 2^25 addresses or more (the internet)',
  },
});

/** `ExistingInstanceNat` props. */
export const EXISTING_INSTANCE_SETTINGS = table({
  name,
  privateCidrs: {
    prop: 'privateCidrs',
    setting: 'NAT_PRIVATE_CIDRS',
    type: 'list(string)',
    rules: [CIDR],
    list: {
      minItems: 1,
      anySourceOptIn: { prop: 'allowAnyClientSource', reach: "every port of the host (with 'vpcId') and its forwarding" },
    },
    summary: 'The private subnets whose traffic the host translates',
  },
  allowAnyClientSource: {
    prop: 'allowAnyClientSource',
    type: 'bool',
    rules: [],
    default: false,
    summary: '`privateCidrs` may cover 2^25 addresses or more (the internet)',
  },
  routeTableIds,
  roleName: {
    prop: 'roleName',
    type: 'string',
    rules: [iamNameRule('an IAM role name', 64)],
    summary: "The host's role; the route-claim policy is attached to it",
  },
  vpcId: { ...vpcId, variable: undefined, summary: 'A security group admitting `privateCidrs` is created in it' },
  conntrackMax,
  tags: TAGS,
});
