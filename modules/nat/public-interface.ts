import { Construct } from 'constructs';
import { Fn, Op, Precondition, Token } from 'cdktf';
import { Instance, InstanceConfig } from '@cdktf/provider-aws/lib/instance';
import { NetworkInterface } from '@cdktf/provider-aws/lib/network-interface';
import { countWhen, splat } from '../shared/terraform-expressions';
import { tagsWithName } from '../shared/tags';
import { NAME_SUFFIXES } from './resource-names';

/**
 * The NAT's public (primary) interface. With one public address it is the interface EC2 creates
 * with the instance, as always. With several, it is a network interface of our own with
 * `addressCount - 1` secondary private addresses — `aws_instance` can list secondary addresses but
 * not ask for a number of them — attached as device 0 when the instance launches, so the instance
 * still has a single public interface and its Elastic IPs are associated by that interface's ID.
 */
export interface PublicInterfaceProps {
  readonly subnetId: string;
  readonly securityGroupId: string;
  /** As the instance's: off in single mode (this interface forwards), on in dual mode. May be a token. */
  readonly sourceDestCheck: boolean;
  /** Public addresses wanted; may be a token (then the interface exists only when Terraform finds it above 1). */
  readonly addressCount: number;
  /** Checks Terraform makes before it creates the interface (a token count's limits). */
  readonly preconditions: Precondition[];
  readonly name: string;
  readonly tags: Record<string, string>;
}

/** Instance arguments that decide where its primary interface comes from. */
export type InstanceNetworking = Pick<
  InstanceConfig,
  'subnetId' | 'vpcSecurityGroupIds' | 'associatePublicIpAddress' | 'sourceDestCheck' | 'networkInterface'
>;

export class PublicInterface {
  /** Spread into the instance's configuration. */
  readonly instanceNetworking: InstanceNetworking;
  private readonly networkInterface?: NetworkInterface;

  constructor(
    scope: Construct,
    private readonly props: PublicInterfaceProps,
  ) {
    const ownOnly = {
      subnetId: props.subnetId,
      vpcSecurityGroupIds: [props.securityGroupId],
      associatePublicIpAddress: true,
      sourceDestCheck: props.sourceDestCheck,
    };
    const symbolic = Token.isUnresolved(props.addressCount);
    if (!symbolic && props.addressCount === 1) {
      this.instanceNetworking = ownOnly;
      return;
    }
    const several = symbolic ? Op.gte(props.addressCount, 2) : true;
    this.networkInterface = new NetworkInterface(scope, 'public-eni', {
      count: symbolic ? countWhen(several) : undefined,
      subnetId: props.subnetId,
      securityGroups: [props.securityGroupId],
      sourceDestCheck: props.sourceDestCheck,
      privateIpsCount: symbolic ? Token.asNumber(Op.sub(props.addressCount, 1)) : props.addressCount - 1,
      description: `${props.name} public interface`,
      tags: tagsWithName(props.tags, `${props.name}${NAME_SUFFIXES.publicInterfaceTag}`),
      lifecycle: props.preconditions.length > 0 ? { precondition: props.preconditions } : undefined,
    });
    if (!symbolic) {
      this.instanceNetworking = { networkInterface: [{ deviceIndex: 0, networkInterfaceId: this.networkInterface.id }] };
      return;
    }
    // A module variable decides at plan: the instance's own interface, or ours. The provider
    // refuses a subnet, groups, a public-address request or a source/destination check next to a
    // `network_interface` block (they belong to the interface then): null, and a dynamic block attaches ours.
    const unlessOurs = <T>(value: T): T => Token.asAny(Fn.conditional(several, Token.nullValue(), value)) as T;
    this.instanceNetworking = {
      subnetId: unlessOurs(props.subnetId),
      vpcSecurityGroupIds: unlessOurs([props.securityGroupId]),
      associatePublicIpAddress: unlessOurs(true),
      sourceDestCheck: unlessOurs(props.sourceDestCheck),
    };
  }

  /** Completes the instance: attaches the interface when a token count decides at plan. */
  attachTo(instance: Instance): void {
    if (this.networkInterface && Token.isUnresolved(this.props.addressCount)) {
      instance.addOverride('dynamic.network_interface', {
        for_each: splat(this.networkInterface, 'id'),
        content: { device_index: 0, network_interface_id: '${network_interface.value}' },
      });
    }
  }

  /**
   * The private address carrying public address number `place` (0-based; may be a token): none for
   * the primary (EC2 then takes the interface's primary address), the secondaries in sorted order after it.
   */
  privateIpOf(place: number): string | undefined {
    if (!this.networkInterface) return undefined;
    const secondaries = Token.isUnresolved(this.props.addressCount)
      ? Fn.sort(Fn.setsubtract(Fn.flatten(splat(this.networkInterface, 'private_ips')), splat(this.networkInterface, 'private_ip')))
      : Fn.sort(Fn.setsubtract(this.networkInterface.privateIps, [this.networkInterface.privateIp]));
    if (!Token.isUnresolved(place)) return place === 0 ? undefined : Fn.element(secondaries, place - 1);
    // `< 1`, not `== 0`: cdktf 0.21 renders a literal 0 operand of Op as `undefined`.
    return Token.asString(Fn.conditional(Op.lt(place, 1), Token.nullValue(), Fn.element(secondaries, Op.sub(place, 1))));
  }
}
