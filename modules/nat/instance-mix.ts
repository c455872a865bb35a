import { Fn, Token } from 'cdktf';
import type { AutoscalingGroupMixedInstancesPolicy } from '@cdktf/provider-aws/lib/autoscaling-group';
import { isToken } from '../shared/validation';

/**
 * How the self-healing group allocates Spot capacity. With one instance an interruption is an
 * egress gap (a replacement's boot), so the pool least likely to be interrupted matters more than
 * the price: `capacity-optimized-prioritized` picks among the pools with the most spare capacity
 * and honours the order of the types on a best-effort basis. `price-capacity-optimized` ignores
 * that order, and `lowest-price` is the most often interrupted
 * (https://docs.aws.amazon.com/autoscaling/ec2/userguide/allocation-strategies.html).
 */
export const SPOT_ALLOCATION_STRATEGY = 'capacity-optimized-prioritized';

export interface InstanceMixProps {
  readonly launchTemplateId: string;
  readonly launchTemplateVersion: string;
  /** The preferred type (also the launch template's). */
  readonly instanceType: string;
  /** More types, in order of preference: a concrete list (its items may be tokens). */
  readonly fallbackInstanceTypes?: string[];
  /** Spot capacity instead of on-demand; may be a token. */
  readonly spot?: boolean;
}

/**
 * The group's mixed instances policy: the launch template with one override per type, in order of
 * preference. On-demand launches take the first type with capacity (`prioritized`); with `spot`
 * nothing is on-demand (no base, 0 % above it). Undefined when there is nothing to mix: the group
 * then names its launch template directly, as it always has.
 */
export function mixedInstancesPolicyOf(props: InstanceMixProps): AutoscalingGroupMixedInstancesPolicy | undefined {
  const fallbacks = props.fallbackInstanceTypes ?? [];
  const spot = props.spot ?? false;
  if (fallbacks.length === 0 && spot === false) return undefined;
  const onDemandPercentage = isToken(spot) ? Token.asNumber(Fn.conditional(spot, 0, 100)) : spot ? 0 : 100;
  return {
    launchTemplate: {
      launchTemplateSpecification: { launchTemplateId: props.launchTemplateId, version: props.launchTemplateVersion },
      override: [props.instanceType, ...fallbacks].map((instanceType) => ({ instanceType })),
    },
    instancesDistribution: {
      onDemandAllocationStrategy: 'prioritized',
      onDemandBaseCapacity: 0,
      onDemandPercentageAboveBaseCapacity: onDemandPercentage,
      spotAllocationStrategy: spot === false ? undefined : SPOT_ALLOCATION_STRATEGY,
    },
  };
}
