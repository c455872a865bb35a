import { AVAILABILITY_ZONE, regionOfZone } from './aws-rules';
import { isToken } from './validation';

/**
 * Throws unless every concrete zone is an availability-zone name and all of them lie in one
 * region (an instance, its interfaces and its subnets cannot span regions). Each entry is the
 * prop path and its value; undefined values and tokens are skipped.
 */
export function requireOneRegion(zones: ReadonlyArray<readonly [string, string | undefined]>): void {
  let first: { label: string; region: string } | undefined;
  for (const [label, zone] of zones) {
    if (zone === undefined || isToken(zone)) continue;
    const region = regionOfZone(zone);
    if (region === undefined) throw new Error(`'${label}' must be ${AVAILABILITY_ZONE.shape}, got '${zone}'`);
    if (first && first.region !== region) {
      throw new Error(
        `'${label}' (${zone}) is in region ${region} but '${first.label}' is in ${first.region}: all zones must be in one region`,
      );
    }
    first ??= { label, region };
  }
}
