import { Fn, Token } from 'cdktf';
import { checkSetting } from '../shared/setting-rules';
import { isToken } from '../shared/validation';
import { ipv4AddressesPerInterface } from './interface-address-limits';
import { NAT_INSTANCE_SETTINGS as S } from './nat-settings';
import type { NatInstanceProps } from './nat-instance-props';

/** How many public addresses the NAT gets: `publicIpCount`, else one per owned Elastic IP, at least one. */
export function publicAddressCountOf(props: NatInstanceProps): number {
  if (props.publicIpCount !== undefined) return props.publicIpCount;
  const ids = props.elasticIpAllocationIds ?? [];
  return isToken(ids) ? Token.asNumber(Fn.max([1, Fn.lengthOf(ids)])) : Math.max(1, ids.length);
}

/**
 * Checks the public-address props at synth: owned allocation IDs well-formed and distinct, and
 * consistent with `elasticIp`, the number of public addresses and what one interface of the
 * instance type carries. Tokens pass (the module's variable validations and the resources'
 * preconditions check them at plan).
 */
export function validatePublicAddresses(props: NatInstanceProps): void {
  checkSetting(S.publicIpCount, props.publicIpCount);
  checkSetting(S.elasticIpAllocationIds, props.elasticIpAllocationIds);
  const ids = props.elasticIpAllocationIds ?? [];
  const count = publicAddressCountOf(props);
  if (!isToken(ids)) {
    if (ids.length > 0 && props.elasticIp === false) {
      throw new Error(`'elasticIpAllocationIds' needs 'elasticIp' (it is false): owned addresses are Elastic IPs`);
    }
    if (!isToken(count) && ids.length > count) {
      throw new Error(
        `'elasticIpAllocationIds' holds ${ids.length} allocations, but 'publicIpCount' is ${count}: each public address carries one`,
      );
    }
  }
  if (isToken(count) || count === 1) return;
  if (props.elasticIp === false) {
    throw new Error(
      `'publicIpCount' is ${count} but 'elasticIp' is false: secondary addresses reach the internet only through Elastic IPs`,
    );
  }
  for (const { type, label } of instanceTypesOf(props)) {
    const limit = isToken(type) ? undefined : ipv4AddressesPerInterface(type);
    if (limit !== undefined && count > limit) {
      throw new Error(
        `'publicIpCount' is ${count}, but one network interface of instance type ${type}${label} carries at most ${limit} IPv4 addresses`,
      );
    }
  }
}

/** What synth cannot check: a pool on an instance type the limits table does not know. */
export function publicAddressWarnings(props: NatInstanceProps): string[] {
  const count = publicAddressCountOf(props);
  if (isToken(count) || count === 1) return [];
  return instanceTypesOf(props)
    .filter(({ type }) => !isToken(type) && ipv4AddressesPerInterface(type) === undefined)
    .map(
      ({ type, label }) =>
        `'publicIpCount' ${count} is not checked against the per-interface address limit of ${type}${label} (not in the table of modules/nat/interface-address-limits.ts); EC2 refuses too many when the interface is created`,
    );
}

/** `instanceType` and each of a concrete `fallbackInstanceTypes` (a self-healing NAT may launch any), labelled for messages. */
function instanceTypesOf(props: NatInstanceProps): Array<{ type: string; label: string }> {
  const fallbacks = props.fallbackInstanceTypes ?? [];
  return [
    { type: props.instanceType ?? 't4g.nano', label: '' },
    ...(isToken(fallbacks) ? [] : fallbacks.map((type, i) => ({ type, label: ` ('fallbackInstanceTypes[${i}]')` }))),
  ];
}
