import { cidrContains, cidrsOverlap, Ipv4Cidr } from '../shared/cidr';
import { TAGS } from '../shared/aws-rules';
import { checkSetting } from '../shared/setting-rules';
import { concreteCidr, isToken, requireNonEmpty } from '../shared/validation';
import { requireOneRegion } from '../shared/zones';
import type { NetworkProps } from './network';

/** AWS accepts IPv4 blocks from /16 to /28 for VPCs and subnets alike. */
const AWS_PREFIX_RANGE = { min: 16, max: 28 };

function requireAwsBlockSize(block: Ipv4Cidr, prop: string): void {
  if (block.prefix < AWS_PREFIX_RANGE.min || block.prefix > AWS_PREFIX_RANGE.max) {
    throw new Error(
      `'${prop}' (${block.text}) must be a /${AWS_PREFIX_RANGE.min} to /${AWS_PREFIX_RANGE.max} block, the sizes AWS accepts`,
    );
  }
}

/** Checks a Network's props at synth time; each error names the prop. Tokens are left to Terraform. */
export function validateNetworkProps(props: NetworkProps): void {
  const vpc = concreteCidr(props.cidr, 'cidr');
  if (vpc) requireAwsBlockSize(vpc, 'cidr');
  requireNonEmpty(props.publicSubnets, 'publicSubnets');
  requireNonEmpty(props.privateSubnets, 'privateSubnets');
  if (props.azs !== undefined) {
    requireNonEmpty(props.azs, 'azs');
    if (!isToken(props.azs)) requireOneRegion(props.azs.map((zone, i) => [`azs[${i}]`, zone] as const));
  }
  checkSetting(TAGS, props.tags);
  if (props.azCount !== undefined && (!Number.isInteger(props.azCount) || props.azCount < 1)) {
    throw new Error(`'azCount' must be a whole number of at least 1, got ${props.azCount}`);
  }
  if (props.privateRouteTables !== undefined && !['single', 'per-az', 'per-subnet'].includes(props.privateRouteTables)) {
    throw new Error(`'privateRouteTables' must be 'single', 'per-az' or 'per-subnet', got '${props.privateRouteTables}'`);
  }
  const seen: Ipv4Cidr[] = [];
  const check = (list: string[], prop: string) => {
    if (isToken(list)) return;
    list.forEach((text, i) => {
      const subnet = concreteCidr(text, `${prop}[${i}]`);
      if (!subnet) return;
      if (vpc && !cidrContains(vpc, subnet)) {
        throw new Error(`'${prop}[${i}]' (${text}) is outside the VPC range 'cidr' (${props.cidr})`);
      }
      const clash = seen.find((other) => cidrsOverlap(other, subnet));
      if (clash) throw new Error(`'${prop}[${i}]' (${text}) overlaps another subnet (${clash.text})`);
      requireAwsBlockSize(subnet, `${prop}[${i}]`);
      seen.push(subnet);
    });
  };
  check(props.publicSubnets, 'publicSubnets');
  check(props.privateSubnets, 'privateSubnets');
}
