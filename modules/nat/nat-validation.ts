import { cidrsOverlap, Ipv4Cidr } from '../shared/cidr';
import { checkSetting } from '../shared/setting-rules';
import { requireOneRegion } from '../shared/zones';
import { concreteCidr, isToken } from '../shared/validation';
import { architectureOf } from './ami';
import type { NatInstanceProps } from './nat-instance-props';
import { NAT_INSTANCE_SETTINGS as S } from './nat-settings';
import { validatePortForwards } from './port-forward-validation';
import { validatePublicAddresses } from './public-address-validation';
import { validateAlarmOptions } from './nat-alarms';

/**
 * Checks a NatInstance's props at synth time against the settings table (`nat-settings.ts`) and
 * the rules that relate props to each other. Every error names the prop; values that are
 * Terraform tokens are accepted unchecked (Terraform or the boot script checks them later).
 */
export function validateNatInstanceProps(props: NatInstanceProps): void {
  checkSetting(S.name, props.name);
  checkSetting(S.vpcId, props.vpcId);
  checkSetting(S.mode, props.mode);
  checkSetting(S.routeMode, props.routeMode);
  if (props.selfHealing === true && props.routeMode === 'terraform') {
    throw new Error(
      `'selfHealing' needs 'routeMode' 'self-claim': a replacement instance points the route tables at itself, and Terraform-managed routes would keep targeting the one it replaced`,
    );
  }
  checkSetting(S.architecture, props.architecture);
  checkSetting(S.instanceType, props.instanceType);
  checkSetting(S.fallbackInstanceTypes, props.fallbackInstanceTypes);
  checkSetting(S.amiId, props.amiId);
  checkSetting(S.publicSubnetId, props.publicSubnet.id);
  const subnets = props.privateSubnets;
  checkSetting(S.privateSubnetIds, Array.isArray(subnets) ? subnets.map((subnet) => subnet.id) : subnets.ids, {
    itemLabel: (i) => `privateSubnets[${i}].id`,
  });
  if (props.forwardingSubnet) checkSetting(S.forwardingSubnetId, props.forwardingSubnet.id);
  checkSetting(S.routeTableIds, props.routeTableIds);
  checkSetting(S.interfaceWaitSeconds, props.interfaceWaitSeconds);
  checkSetting(S.conntrackMax, props.conntrackMax);
  checkSetting(S.rootVolumeSize, props.rootVolumeSize);
  checkSetting(S.additionalCidrs, props.additionalCidrs, { anySourceAllowed: props.allowAnyClientSource });
  checkSetting(S.additionalSecurityGroupIds, props.additionalSecurityGroupIds);
  checkSetting(S.keyName, props.keyName);
  checkSetting(S.sshCidrs, props.sshCidrs, { anySourceAllowed: props.allowAnySshSource });
  checkSetting(S.instanceProfileName, props.instanceProfileName);
  checkSetting(S.instanceRoleName, props.instanceRoleName);
  checkSetting(S.tags, props.tags);
  checkSetting(S.egressProbeUrl, props.egressProbeUrl);
  checkSetting(S.alarmTopicArn, props.alarms?.topicArn);
  validateAlarmOptions(props.alarms, props.metrics, props.selfHealing);

  const publicCidr = concreteCidr(props.publicSubnet.cidrBlock, 'publicSubnet.cidrBlock');
  const privateCidrs = Array.isArray(subnets)
    ? subnets.flatMap((subnet, i) => concreteCidr(subnet.cidrBlock, `privateSubnets[${i}].cidrBlock`) ?? [])
    : [];
  privateCidrs.forEach((cidr, i) => {
    if (publicCidr && cidrsOverlap(publicCidr, cidr)) {
      throw new Error(`'privateSubnets' entry ${cidr.text} overlaps 'publicSubnet' (${publicCidr.text})`);
    }
    const clash = privateCidrs.slice(0, i).find((other) => cidrsOverlap(other, cidr));
    if (clash) throw new Error(`'privateSubnets' entries ${clash.text} and ${cidr.text} overlap`);
  });
  requireOneRegion([
    ['publicSubnet.availabilityZone', props.publicSubnet.availabilityZone],
    ...(Array.isArray(subnets)
      ? subnets.map((subnet, i): [string, string | undefined] => [`privateSubnets[${i}].availabilityZone`, subnet.availabilityZone])
      : []),
    ['forwardingSubnet.availabilityZone', props.forwardingSubnet?.availabilityZone],
  ]);

  if (props.mode === 'dual' || isToken(props.mode)) validateDualMode(props, privateCidrs);
  validateArchitecture(props);
  validateFallbackInstanceTypes(props);
  validatePortForwards(props.portForwards ?? [], privateCidrs, props.sshCidrs);
  validatePublicAddresses(props);
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

function validateArchitecture(props: NatInstanceProps): void {
  const type = props.instanceType;
  const derived = architectureOf(type ?? 't4g.nano');
  if (!derived && !props.architecture && !props.amiId) {
    throw new Error(`'architecture' is required when 'instanceType' is a Terraform token and no 'amiId' is given`);
  }
  if (derived && props.architecture && derived !== props.architecture) {
    throw new Error(`'architecture' is ${props.architecture} but 'instanceType' ${type ?? 't4g.nano'} is ${derived}`);
  }
}

/** An Auto Scaling group's mixed instances policy takes at most 40 launch-template overrides. */
export const MAX_INSTANCE_TYPES = 40;

/**
 * `fallbackInstanceTypes` and `spot` choose how the self-healing group launches; a plain instance
 * has one type and launches once. Every concrete fallback must run the AMI chosen for `instanceType`.
 */
function validateFallbackInstanceTypes(props: NatInstanceProps): void {
  const fallbacks = props.fallbackInstanceTypes ?? [];
  const listed = isToken(fallbacks) || fallbacks.length > 0;
  for (const [prop, used] of [
    ['fallbackInstanceTypes', listed],
    ['spot', props.spot !== undefined && props.spot !== false],
  ] as const) {
    if (used && props.selfHealing !== true) {
      throw new Error(
        `'${prop}' needs 'selfHealing': only the self-healing Auto Scaling group chooses among instance types and Spot capacity`,
      );
    }
  }
  if (isToken(fallbacks)) {
    // A dynamic block would iterate a set (sorted), losing the order of preference.
    throw new Error(
      `'fallbackInstanceTypes' must be a list written out in code (its items may be tokens): the group tries the types in its order`,
    );
  }
  const type = props.instanceType ?? 't4g.nano';
  if (fallbacks.length > MAX_INSTANCE_TYPES - 1) {
    throw new Error(
      `'fallbackInstanceTypes' holds ${fallbacks.length} types; with 'instanceType' an Auto Scaling group takes at most ${MAX_INSTANCE_TYPES}`,
    );
  }
  const amiArchitecture = props.architecture ?? architectureOf(type);
  fallbacks.forEach((fallback, i) => {
    if (isToken(fallback)) return;
    if (fallback === type) throw new Error(`'fallbackInstanceTypes[${i}]' is ${fallback}, which is 'instanceType' already`);
    const architecture = architectureOf(fallback);
    if (amiArchitecture && architecture !== amiArchitecture) {
      const source = props.architecture ? `'architecture'` : `'instanceType' ${type}`;
      throw new Error(
        `'fallbackInstanceTypes[${i}]' ${fallback} is ${architecture}, but the NAT's AMI is ${amiArchitecture} (from ${source}): one launch template serves every type`,
      );
    }
  });
}
