import { isToken } from '../shared/validation';
import type { NatInstanceProps } from './nat-instance-props';

/** An Elastic IP allocation ID as EC2 issues it (8 or 17 hex digits today; any length accepted). */
export const ALLOCATION_ID_PATTERN = /^eipalloc-[0-9a-f]+$/;

/**
 * Checks the public-address props at synth: owned allocation IDs well-formed and distinct, and
 * consistent with `elasticIp` and the number of public addresses. Tokens pass (the module's
 * variable validations and the resources' preconditions check them at plan).
 */
export function validatePublicAddresses(props: NatInstanceProps): void {
  const ids = props.elasticIpAllocationIds;
  if (ids === undefined || isToken(ids)) return;
  ids.forEach((id, i) => {
    if (!isToken(id) && !ALLOCATION_ID_PATTERN.test(id)) {
      throw new Error(`'elasticIpAllocationIds[${i}]' must be an Elastic IP allocation ID (eipalloc-…), got '${id}'`);
    }
  });
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
  if (duplicate !== undefined) throw new Error(`'elasticIpAllocationIds' lists ${duplicate} more than once`);
  if (ids.length > 0 && props.elasticIp === false) {
    throw new Error(`'elasticIpAllocationIds' needs 'elasticIp' (it is false): owned addresses are Elastic IPs`);
  }
  if (ids.length > 1) {
    throw new Error(`'elasticIpAllocationIds' holds ${ids.length} allocations, but the NAT has one public address`);
  }
}
