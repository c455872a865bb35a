import type { Setting, ValueRule } from './setting-rules';

/**
 * The shapes AWS gives its IDs and names, as rules (see `setting-rules.ts`): a value of the wrong
 * shape fails at synth or plan, not at apply after other resources exist.
 */

/** A resource ID: the prefix, a dash and hex digits (`vpc-0123abcd`). An empty string or a name fails it. */
export function awsIdRule(prefix: string, what: string): ValueRule {
  return { kind: 'pattern', pattern: `^${prefix}-[0-9a-f]+$`, shape: `${what} (${prefix}- and hex digits, like ${prefix}-0123abcd)` };
}

export const VPC_ID = awsIdRule('vpc', 'a VPC ID');
export const SUBNET_ID = awsIdRule('subnet', 'a subnet ID');
export const SECURITY_GROUP_ID = awsIdRule('sg', 'a security-group ID, not its name');
export const ROUTE_TABLE_ID = awsIdRule('rtb', 'a route-table ID');
export const AMI_ID = awsIdRule('ami', 'an AMI ID');
export const EIP_ALLOCATION_ID = awsIdRule('eipalloc', 'an Elastic IP allocation ID');

/** An SNS topic's ARN (any partition): what CloudWatch alarm actions take. */
export const SNS_TOPIC_ARN: ValueRule = {
  kind: 'pattern',
  pattern: '^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$',
  shape: 'an SNS topic ARN like arn:aws:sns:eu-central-1:123456789012:nat-alarms',
};

/**
 * Characters that IAM names (roles, instance profiles, policies) and security-group names both
 * accept: IAM allows only these, security groups allow a superset.
 */
export const NAME_CHARACTERS = 'A-Za-z0-9_+=,.@-';

/** An IAM name of up to `max` characters; an ARN (`:` and `/`) fails it. */
export function iamNameRule(what: string, max: number): ValueRule {
  return {
    kind: 'pattern',
    pattern: `^[${NAME_CHARACTERS}]{1,${max}}$`,
    shape: `${what}: 1 to ${max} letters, digits or _+=,.@- (a name, not an ARN)`,
  };
}

/**
 * An EC2 instance type: a family, a dot and a size word (`t4g.nano`, `c7gn.16xlarge`,
 * `u7in-32tb.224xlarge`, `m7i.metal-48xl`), so that `t4g.nanno` fails at synth, not at apply.
 */
export const INSTANCE_TYPE: ValueRule = {
  kind: 'pattern',
  pattern: '^[a-z][a-z0-9-]*[.](nano|micro|small|medium|large|xlarge|[1-9][0-9]{0,2}xlarge|metal|metal-[1-9][0-9]{0,2}xl)$',
  shape: 'an EC2 instance type: a family, a dot and a size (nano, micro, small, medium, large, xlarge, 2xlarge…, metal), like t4g.nano',
};

/** An EC2 key-pair name: 1 to 255 printable ASCII characters. */
export const KEY_PAIR_NAME: ValueRule = {
  kind: 'pattern',
  pattern: '^[ -~]{1,255}$',
  shape: 'a key-pair name: 1 to 255 printable ASCII characters',
};

/** The region part of a zone name: `eu-central-1` of `eu-central-1a` (and of Local Zones such as `us-east-1-bos-1a`). */
const REGION = '[a-z]{2}(-[a-z]+)+-[0-9]+';

/** An availability-zone name (`eu-central-1a`, `us-east-1-bos-1a`), not a zone ID (`euc1-az2`). */
export const AVAILABILITY_ZONE = {
  kind: 'pattern',
  pattern: `^${REGION}([a-z]|-[a-z0-9-]*[a-z0-9])$`,
  shape: 'an availability-zone name like eu-central-1a',
} as const satisfies ValueRule;

/** The region of an availability-zone name, or undefined when it is not one. */
export function regionOfZone(zone: string): string | undefined {
  if (!new RegExp(AVAILABILITY_ZONE.pattern).test(zone)) return undefined;
  return new RegExp(`^${REGION}`).exec(zone)?.[0];
}

/** Tags: AWS allows 50 per resource and reserves the `aws:` prefix, in any case. */
export const TAGS: Setting = {
  prop: 'tags',
  variable: 'tags',
  type: 'map(string)',
  rules: [{ kind: 'notPattern', pattern: '^[aA][wW][sS]:', shape: 'start with aws: (reserved by AWS)' }],
  map: { maxKeys: 50, addedKeys: ['Name'] },
  default: {},
  summary: 'Tags for every resource',
};
