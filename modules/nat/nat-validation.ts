import { cidrsOverlap, Ipv4Cidr } from '../shared/cidr';
import { concreteCidr, isToken, requireIntegerIn, requireNonEmpty, requireRouteTableIds } from '../shared/validation';
import { architectureOf } from './ami';
import type { NatInstanceProps } from './nat-instance-props';
import { validatePortForwards } from './port-forward-validation';

function requireOneOf(value: string | undefined, prop: string, allowed: string[]): void {
  if (value !== undefined && !isToken(value) && !allowed.includes(value)) {
    throw new Error(`'${prop}' must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got '${value}'`);
  }
}

/** Concrete CIDRs of a list prop, each validated; a token list yields nothing to check. */
function concreteCidrs(list: string[] | undefined, prop: string): Ipv4Cidr[] {
  if (list === undefined || isToken(list)) return [];
  return list.flatMap((text, i) => concreteCidr(text, `${prop}[${i}]`) ?? []);
}

/** Below ~1k a NAT drops connections at once; above 64 Mi entries the table outgrows small instances. */
export const CONNTRACK_MAX_RANGE = { min: 1024, max: 67108864 };

/**
 * Checks a NatInstance's props at synth time. Every error names the prop; values that are
 * Terraform tokens are accepted unchecked (Terraform or the boot script checks them later).
 */
export function validateNatInstanceProps(props: NatInstanceProps): void {
  requireOneOf(props.mode, 'mode', ['single', 'dual']);
  requireOneOf(props.routeMode, 'routeMode', ['terraform', 'self-claim']);
  if (props.selfHealing === true && props.routeMode === 'terraform') {
    throw new Error(
      `'selfHealing' needs 'routeMode' 'self-claim': a replacement instance points the route tables at itself, and Terraform-managed routes would keep targeting the one it replaced`,
    );
  }
  requireOneOf(props.architecture, 'architecture', ['arm64', 'x86_64']);
  requireNonEmpty(Array.isArray(props.privateSubnets) ? props.privateSubnets : props.privateSubnets.ids, 'privateSubnets');
  requireRouteTableIds(props.routeTableIds, 'routeTableIds');
  // Two routes to 0.0.0.0/0 in one table fail at apply; the same ID (or reference) twice is a mistake.
  const tables = props.routeTableIds;
  const duplicateTable = isToken(tables) ? undefined : tables.find((id, i) => tables.indexOf(id) !== i);
  if (duplicateTable !== undefined) throw new Error(`'routeTableIds' lists ${duplicateTable} more than once`);
  requireIntegerIn(props.interfaceWaitSeconds, 'interfaceWaitSeconds', 1, 3600);
  requireIntegerIn(props.conntrackMax, 'conntrackMax', CONNTRACK_MAX_RANGE.min, CONNTRACK_MAX_RANGE.max);
  requireIntegerIn(props.rootVolumeSize, 'rootVolumeSize', 8, 16384);

  const publicCidr = concreteCidr(props.publicSubnet.cidrBlock, 'publicSubnet.cidrBlock');
  const privateCidrs = Array.isArray(props.privateSubnets)
    ? props.privateSubnets.flatMap((subnet, i) => concreteCidr(subnet.cidrBlock, `privateSubnets[${i}].cidrBlock`) ?? [])
    : [];
  privateCidrs.forEach((cidr, i) => {
    if (publicCidr && cidrsOverlap(publicCidr, cidr)) {
      throw new Error(`'privateSubnets' entry ${cidr.text} overlaps 'publicSubnet' (${publicCidr.text})`);
    }
    const clash = privateCidrs.slice(0, i).find((other) => cidrsOverlap(other, cidr));
    if (clash) throw new Error(`'privateSubnets' entries ${clash.text} and ${cidr.text} overlap`);
  });
  concreteCidrs(props.additionalCidrs, 'additionalCidrs');
  concreteCidrs(props.sshCidrs, 'sshCidrs');

  if (props.mode === 'dual' || isToken(props.mode)) validateDualMode(props, privateCidrs);
  validateInstanceType(props);
  validatePortForwards(props.portForwards ?? [], privateCidrs, props.sshCidrs);
}

function validateDualMode(props: NatInstanceProps, privateCidrs: Ipv4Cidr[]): void {
  const forwarding = props.forwardingSubnet ?? (Array.isArray(props.privateSubnets) ? props.privateSubnets[0] : undefined);
  if (!forwarding) {
    throw new Error(`'mode' is 'dual' but there is no private subnet for the second interface: set 'forwardingSubnet' or 'privateSubnets'`);
  }
  const cidr = concreteCidr(forwarding.cidrBlock, 'forwardingSubnet.cidrBlock');
  if (cidr && privateCidrs.length > 0 && !privateCidrs.some((p) => p.network === cidr.network && p.prefix === cidr.prefix)) {
    throw new Error(`'forwardingSubnet' (${cidr.text}) must be one of 'privateSubnets'`);
  }
  const publicZone = props.publicSubnet.availabilityZone;
  const privateZone = forwarding.availabilityZone;
  if (publicZone && privateZone && !isToken(publicZone) && !isToken(privateZone) && publicZone !== privateZone) {
    throw new Error(
      `'forwardingSubnet' is in ${privateZone} but 'publicSubnet' is in ${publicZone}: ` +
        'all interfaces of an instance must be in its availability zone',
    );
  }
}

function validateInstanceType(props: NatInstanceProps): void {
  const type = props.instanceType;
  if (type !== undefined && !isToken(type) && !/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(type)) {
    throw new Error(`'instanceType' '${type}' is not an EC2 instance type like t4g.nano`);
  }
  const derived = architectureOf(type ?? 't4g.nano');
  if (!derived && !props.architecture && !props.amiId) {
    throw new Error(`'architecture' is required when 'instanceType' is a Terraform token and no 'amiId' is given`);
  }
  if (derived && props.architecture && derived !== props.architecture) {
    throw new Error(`'architecture' is ${props.architecture} but 'instanceType' ${type ?? 't4g.nano'} is ${derived}`);
  }
}
