import { Construct } from 'constructs';
import { Fn, TerraformLocal } from 'cdktf';
import { RouteClaimPolicy } from '../iam/route-claim-policy';
import { checkSetting } from '../shared/setting-rules';
import { NatBootSettings } from './boot-settings';
import { NAT_DEFAULTS } from './nat-instance';
import { NatSecurityGroup } from './nat-security-group';
import { EXISTING_INSTANCE_SETTINGS as S } from './nat-settings';
import { NAME_SUFFIXES } from './resource-names';
import { renderNatUserData, renderNatWriteFiles } from './user-data';

export interface ExistingInstanceNatProps {
  /**
   * Name prefix for the policy and security group: 1-64 ASCII letters, digits or `_+=,.@-`, not
   * starting with `sg-`.
   * @default 'nat-instance'
   */
  readonly name?: string;
  /**
   * CIDRs of the private subnets whose traffic the host translates (and, with `vpcId`, which its
   * security group admits on every port). Together they must cover fewer than 2^25 addresses
   * unless `allowAnyClientSource` is set.
   */
  readonly privateCidrs: string[];
  /**
   * Let `privateCidrs` cover the internet (2^25 addresses or more, however split). Refused otherwise.
   * @default false
   */
  readonly allowAnyClientSource?: boolean;
  /** Route tables the host points at itself at every boot. */
  readonly routeTableIds: string[];
  /** The name (not the ARN) of the host's instance-profile role; the route-claim policy is attached to it. */
  readonly roleName: string;
  /**
   * When given, a security group admitting all traffic from `privateCidrs` is created in this VPC;
   * add `securityGroupId` to the host's security groups.
   * @default no security group (your own groups must admit the private subnets)
   */
  readonly vpcId?: string;
  /**
   * Connection-tracking table size.
   * @default 262144
   */
  readonly conntrackMax?: number;
  /**
   * At most 50 counting the `Name` tag added to each resource, no `aws:` keys.
   * @default {}
   */
  readonly tags?: Record<string, string>;
}

/** What the host itself must have; spread it into your `aws_instance` configuration. */
export const EXISTING_INSTANCE_REQUIREMENTS = {
  /** The host forwards packets that are neither from nor to itself. */
  sourceDestCheck: false,
  /** The host must sit in a public subnet with a public address (auto-assigned or an Elastic IP). */
  associatePublicIpAddress: true,
} as const;

/**
 * Makes an instance you already run (an ECS host with a web server, say) the NAT for
 * private subnets: single-interface mode, Docker-aware, routes claimed at every boot.
 * It yields the cloud-config (whole, or entries to merge into yours) and the route-claim policy;
 * the instance must satisfy `EXISTING_INSTANCE_REQUIREMENTS`.
 */
export class ExistingInstanceNat extends Construct {
  /** A complete `#cloud-config` user data document (over EC2's 16 KB: ship it as `userDataBase64`). */
  public readonly userData: string;
  /** `userData` compressed by Terraform (`base64gzip` of a local): set it as the instance's `userDataBase64`. */
  public readonly userDataBase64: string;
  /** The `write_files` list entries, for a host whose cloud-config already has a `write_files:` key. */
  public readonly writeFiles: string;
  public readonly routeClaimPolicy: RouteClaimPolicy;
  public readonly securityGroupId?: string;
  public readonly requiredInstanceSettings = EXISTING_INSTANCE_REQUIREMENTS;

  constructor(scope: Construct, id: string, props: ExistingInstanceNatProps) {
    super(scope, id);
    // The settings table (nat-settings.ts): what the boot script would refuse fails here, not at the host's next boot.
    checkSetting(S.name, props.name);
    checkSetting(S.privateCidrs, props.privateCidrs, { anySourceAllowed: props.allowAnyClientSource });
    checkSetting(S.routeTableIds, props.routeTableIds);
    checkSetting(S.roleName, props.roleName);
    checkSetting(S.vpcId, props.vpcId);
    checkSetting(S.conntrackMax, props.conntrackMax);
    checkSetting(S.tags, props.tags);
    const name = props.name ?? NAT_DEFAULTS.name;
    const tags = props.tags ?? {};
    const settings: NatBootSettings = {
      mode: 'single',
      privateCidrs: props.privateCidrs,
      interfaceWaitSeconds: NAT_DEFAULTS.interfaceWaitSeconds,
      conntrackMax: props.conntrackMax ?? NAT_DEFAULTS.conntrackMax,
      routeMode: 'self-claim',
      routeTableIds: props.routeTableIds,
      portForwards: [],
    };
    this.userData = renderNatUserData(settings);
    this.userDataBase64 = Fn.base64gzip(new TerraformLocal(this, 'user_data', this.userData).asString);
    this.writeFiles = renderNatWriteFiles(settings);
    this.routeClaimPolicy = new RouteClaimPolicy(this, 'route-claim', {
      name: `${name}${NAME_SUFFIXES.routeClaimPolicy}`,
      routeTableIds: props.routeTableIds,
      roleName: props.roleName,
      tags,
    });
    if (props.vpcId !== undefined) {
      this.securityGroupId = new NatSecurityGroup(this, 'sg', {
        name,
        vpcId: props.vpcId,
        clientCidrs: props.privateCidrs,
        clientSecurityGroupIds: [],
        sshCidrs: [],
        portForwards: [],
        tags,
      }).securityGroupId;
    }
  }
}
