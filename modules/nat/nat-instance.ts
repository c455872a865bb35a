import { Construct } from 'constructs';
import { Annotations, Fn, ITerraformDependable, Op, TerraformCount, TerraformLocal, TerraformResourceLifecycle, Token } from 'cdktf';
import { Instance } from '@cdktf/provider-aws/lib/instance';
import { NetworkInterface } from '@cdktf/provider-aws/lib/network-interface';
import { NetworkInterfaceAttachmentA as NetworkInterfaceAttachment } from '@cdktf/provider-aws/lib/network-interface-attachment';
import { Eip } from '@cdktf/provider-aws/lib/eip';
import { Route } from '@cdktf/provider-aws/lib/route';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { SsmInstanceRole } from '../iam/ssm-instance-role';
import { RouteClaimPolicy } from '../iam/route-claim-policy';
import { SelfHealingPolicy } from '../iam/self-healing-policy';
import { NatAutoScalingGroup } from './nat-auto-scaling-group';
import { architectureOf, latestAl2023AmiId } from './ami';
import { NatBootSettings, NatMode, RouteMode } from './boot-settings';
import { NAT_INSTANCE_SETTINGS as S } from './nat-settings';
import { NatInstanceProps } from './nat-instance-props';
import { NatSecurityGroup } from './nat-security-group';
import { validateNatInstanceProps } from './nat-validation';
import { SubnetInfo, subnetCidrBlocks } from '../shared/subnet';
import { attributeOrElse, countWhen, equalsValue } from '../shared/terraform-expressions';
import { renderNatUserData } from './user-data';
import { TerraformPortForward, terraformPortForwardOf } from './port-forward-rendering';
import { NAME_SUFFIXES } from './resource-names';
import { tagsWithName } from '../shared/tags';

/** Defaults of the optional props, from the settings table (so docs, module and code agree). */
export const NAT_DEFAULTS = {
  name: S.name.default as string,
  mode: S.mode.default as NatMode,
  routeMode: S.routeMode.default as RouteMode,
  elasticIp: S.elasticIp.default as boolean,
  instanceType: S.instanceType.default as string,
  interfaceWaitSeconds: S.interfaceWaitSeconds.default as number,
  conntrackMax: S.conntrackMax.default as number,
  rootVolumeSize: S.rootVolumeSize.default as number,
};

/** The warning for dual mode without an Elastic IP; `setting` names the prop or the module variable. */
export function dualModeWithoutElasticIpWarning(setting: string): string {
  return `${setting} is false in dual mode: an instance with two interfaces loses its public IP on stop/start, and egress with it`;
}

/**
 * A NAT instance on Amazon Linux 2023 that gives private subnets IPv4 internet egress (and,
 * optionally, inbound port forwards), configured at every boot by a tested script.
 */
export class NatInstance extends Construct {
  /** The instance (absent when `selfHealing`: the Auto Scaling group launches it). */
  public readonly instance?: Instance;
  public readonly instanceId?: string;
  /** `selfHealing`: the launch template and the Auto Scaling group of one. */
  public readonly autoScalingGroup?: NatAutoScalingGroup;
  /** `selfHealing`: what the instance may do to take over from the one it replaces. */
  public readonly selfHealingPolicy?: SelfHealingPolicy;
  /** The egress IP: the Elastic IP, or the instance's auto-assigned public IP. */
  public readonly publicIp: string;
  /**
   * The interface private route tables target (secondary in dual mode, primary in single).
   * Undefined for a self-healing single-mode NAT: every replacement brings its own.
   */
  public readonly forwardingInterfaceId?: string;
  public readonly securityGroupId: string;
  /** The role created for the instance, unless `instanceProfileName` was given. */
  public readonly role?: SsmInstanceRole;
  public readonly elasticIp?: Eip;
  /** Self-claim mode: the policy scoped to `routeTableIds` (attached to the created role). */
  public readonly routeClaimPolicy?: RouteClaimPolicy;
  /** The settings the boot script receives (also rendered into the user data). */
  public readonly bootSettings: NatBootSettings;
  /** The `#cloud-config` text (stored readable in a Terraform local, shipped gzip-compressed). */
  public readonly userData: string;

  constructor(scope: Construct, id: string, props: NatInstanceProps) {
    super(scope, id);
    validateNatInstanceProps(props);
    const name = props.name ?? NAT_DEFAULTS.name;
    const mode = props.mode ?? NAT_DEFAULTS.mode;
    const selfHealing = props.selfHealing ?? false;
    const routeMode = props.routeMode ?? (selfHealing ? 'self-claim' : NAT_DEFAULTS.routeMode);
    const wantsElasticIp = props.elasticIp ?? NAT_DEFAULTS.elasticIp;
    const instanceType = props.instanceType ?? NAT_DEFAULTS.instanceType;
    const tags = props.tags ?? {};
    if (mode === 'dual' && !wantsElasticIp) Annotations.of(this).addWarning(dualModeWithoutElasticIpWarning(`'elasticIp'`));

    const privateCidrs = concatLists(subnetCidrBlocks(props.privateSubnets), props.additionalCidrs ?? []);
    // Validation guarantees one of the two in dual (or token) mode.
    const forwardingSubnet = props.forwardingSubnet ?? (Array.isArray(props.privateSubnets) ? props.privateSubnets[0] : undefined);
    const isDual = equalsValue(mode, 'dual');
    // A module variable is a Terraform list in these words already; concrete forwards get their defaults.
    const portForwards: TerraformPortForward[] = Token.isUnresolved(props.portForwards)
      ? (props.portForwards as unknown as TerraformPortForward[])
      : (props.portForwards ?? []).map(terraformPortForwardOf);
    const securityGroup = new NatSecurityGroup(this, 'sg', {
      name,
      vpcId: props.vpcId,
      clientCidrs: privateCidrs,
      clientSecurityGroupIds: props.additionalSecurityGroupIds ?? [],
      sshCidrs: props.sshCidrs ?? [],
      portForwards,
      tags,
    });
    this.securityGroupId = securityGroup.securityGroupId;

    const bootSettings: NatBootSettings = {
      mode,
      privateCidrs,
      forwardingSubnetCidr: mode === 'single' ? undefined : forwardingSubnet?.cidrBlock,
      interfaceWaitSeconds: props.interfaceWaitSeconds ?? NAT_DEFAULTS.interfaceWaitSeconds,
      conntrackMax: props.conntrackMax ?? NAT_DEFAULTS.conntrackMax,
      routeMode,
      routeTableIds: props.routeTableIds,
      portForwards,
    };
    let instanceProfileName = props.instanceProfileName;
    if (instanceProfileName === undefined) {
      this.role = new SsmInstanceRole(this, 'role', { name, tags });
      instanceProfileName = this.role.instanceProfileName;
    }
    if (routeMode === 'self-claim') {
      this.routeClaimPolicy = new RouteClaimPolicy(this, 'route-claim', {
        name: `${name}${NAME_SUFFIXES.routeClaimPolicy}`,
        routeTableIds: props.routeTableIds,
        roleName: this.role?.roleName,
        tags,
      });
      if (!this.role) {
        Annotations.of(this).addWarning(
          `'routeMode' is 'self-claim' with your own 'instanceProfileName': attach routeClaimPolicy.policyArn to that profile's role`,
        );
      }
    }
    const architecture = props.architecture ?? architectureOf(instanceType) ?? 'arm64';
    const amiId = props.amiId ?? latestAl2023AmiId(this, 'ami', architecture);

    if (selfHealing) {
      // The Elastic IP and the dual-mode forwarding interface outlive every instance: the boot
      // script of each replacement takes them over (docs/high-availability.md explains the choice).
      if (!wantsElasticIp) {
        Annotations.of(this).addWarning(`'elasticIp' is false with 'selfHealing': every replacement egresses from a new public IP`);
      }
      this.elasticIp = wantsElasticIp ? this.addElasticIp(wantsElasticIp, name, tags, props.internetGateway) : undefined;
      this.publicIp = this.elasticIp?.publicIp ?? '';
      this.forwardingInterfaceId =
        mode === 'dual' && forwardingSubnet ? this.addStaticForwardingInterface(forwardingSubnet.id, name, tags) : undefined;
      this.bootSettings = {
        ...bootSettings,
        elasticIpAllocationId: this.elasticIp?.allocationId,
        forwardingInterfaceId: this.forwardingInterfaceId,
        disableSourceDestCheck: mode === 'single',
      };
      this.userData = renderNatUserData(this.bootSettings, undefined, props.healthAgent);
      this.selfHealingPolicy = new SelfHealingPolicy(this, 'self-healing', {
        name: `${name}-self-healing`,
        tagValue: name,
        elasticIpAllocationId: this.elasticIp?.allocationId,
        forwardingInterfaceId: this.forwardingInterfaceId,
        disablesSourceDestCheck: mode === 'single',
        roleName: this.role?.roleName,
        tags,
      });
      if (!this.role) {
        Annotations.of(this).addWarning(
          `'selfHealing' with your own 'instanceProfileName': attach selfHealingPolicy.policyArn to that profile's role`,
        );
      }
      this.autoScalingGroup = new NatAutoScalingGroup(this, 'group', {
        name,
        amiId,
        instanceType,
        keyName: props.keyName,
        instanceProfileName,
        publicSubnetId: props.publicSubnet.id,
        securityGroupId: this.securityGroupId,
        userDataBase64: this.compressedUserData(),
        rootVolumeSize: props.rootVolumeSize ?? NAT_DEFAULTS.rootVolumeSize,
        ignoreAmiUpdates: !props.replaceOnAmiUpdate,
        // The first instance claims its routes and addresses at boot: its permissions come first.
        dependsOn: [this.routeClaimPolicy?.attachment, this.selfHealingPolicy.attachment].filter(
          (attachment): attachment is IamRolePolicyAttachment => attachment !== undefined,
        ),
        tags,
      });
      return;
    }

    this.bootSettings = bootSettings;
    this.userData = renderNatUserData(this.bootSettings, undefined, props.healthAgent);
    const instance = new Instance(this, 'instance', {
      ami: amiId,
      instanceType,
      subnetId: props.publicSubnet.id,
      vpcSecurityGroupIds: [this.securityGroupId],
      associatePublicIpAddress: true,
      // Single mode forwards through the primary interface; in dual mode the secondary does.
      sourceDestCheck: isDual,
      iamInstanceProfile: instanceProfileName,
      keyName: props.keyName,
      userDataBase64: this.compressedUserData(),
      // cloud-init writes files only on the first boot: new settings need a new instance.
      userDataReplaceOnChange: true,
      metadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 1, httpEndpoint: 'enabled' },
      rootBlockDevice: {
        volumeType: 'gp3',
        volumeSize: props.rootVolumeSize ?? NAT_DEFAULTS.rootVolumeSize,
        encrypted: true,
        deleteOnTermination: true,
      },
      volumeTags: tagsWithName(tags, `${name}${NAME_SUFFIXES.rootVolumeTag}`),
      tags: tagsWithName(tags, name),
      lifecycle: props.replaceOnAmiUpdate ? undefined : { ignoreChanges: ['ami'] },
      // Self-claim: Terraform would otherwise create the instance and the policy attachment in
      // parallel, and the boot script could call EC2 before the role holds the policy (it still
      // retries while IAM propagates: boot/README.md).
      dependsOn: this.routeClaimPolicy?.attachment ? [this.routeClaimPolicy.attachment] : undefined,
    });
    this.instance = instance;
    this.instanceId = instance.id;

    this.forwardingInterfaceId =
      mode !== 'single' && forwardingSubnet
        ? this.addForwardingInterface(forwardingSubnet, props.publicSubnet, isDual, Token.isUnresolved(mode), name, tags, instance)
        : instance.primaryNetworkInterfaceId;
    if (wantsElasticIp) {
      this.elasticIp = this.addElasticIp(wantsElasticIp, name, tags, props.internetGateway, instance.primaryNetworkInterfaceId);
      // A token toggle may leave the EIP out: then the instance's own public IP is the egress IP.
      this.publicIp = Token.isUnresolved(wantsElasticIp)
        ? attributeOrElse(this.elasticIp, 'public_ip', instance.publicIp)
        : this.elasticIp.publicIp;
    } else {
      this.publicIp = instance.publicIp;
    }
    if (routeMode !== 'self-claim') this.addDefaultRoutes(props.routeTableIds, this.forwardingInterfaceId);
  }

  /**
   * EC2 refuses user data over 16 KB and the script alone is larger: Terraform compresses the
   * readable document kept in a local (cloud-init decompresses it). Compressing here instead would
   * make the bytes depend on the machine's zlib and needlessly replace the instance.
   */
  private compressedUserData(): string {
    return Fn.base64gzip(new TerraformLocal(this, 'user_data', this.userData).asString);
  }

  /**
   * Self-healing dual mode: the forwarding interface, created once and attached by every
   * replacement at boot, so the route tables' target and the forwarding address never change.
   */
  private addStaticForwardingInterface(subnetId: string, name: string, tags: Record<string, string>): string {
    return new NetworkInterface(this, 'forwarding-eni', {
      subnetId,
      securityGroups: [this.securityGroupId],
      sourceDestCheck: false,
      description: `${name} forwarding interface (attached by each self-healing instance at boot)`,
      tags: tagsWithName(tags, `${name}-forwarding`),
    }).id;
  }

  /**
   * The secondary interface of dual mode, attached as device 1; returns the ID routes target.
   * With a token mode (module variable) both exist only when Terraform finds the mode `dual`.
   */
  private addForwardingInterface(
    subnet: SubnetInfo,
    publicSubnet: SubnetInfo,
    isDual: boolean,
    modeIsToken: boolean,
    name: string,
    tags: Record<string, string>,
    instance: Instance,
  ): string {
    const count = modeIsToken ? countWhen(isDual) : undefined;
    const forwardingInterface = new NetworkInterface(this, 'forwarding-eni', {
      count,
      subnetId: subnet.id,
      securityGroups: [this.securityGroupId],
      sourceDestCheck: false,
      description: `${name} forwarding interface`,
      tags: tagsWithName(tags, `${name}${NAME_SUFFIXES.forwardingInterfaceTag}`),
      lifecycle: sameZonePrecondition(subnet, publicSubnet),
    });
    const forwardingInterfaceId = modeIsToken
      ? attributeOrElse(forwardingInterface, 'id', instance.primaryNetworkInterfaceId)
      : forwardingInterface.id;
    new NetworkInterfaceAttachment(this, 'forwarding-eni-attachment', {
      count,
      instanceId: instance.id,
      networkInterfaceId: forwardingInterfaceId,
      deviceIndex: 1,
    });
    return forwardingInterfaceId;
  }

  /**
   * The Elastic IP, by interface, not instance: association by instance ID fails with several
   * interfaces. It is associated as it is created, which may need the VPC's internet gateway
   * first (the provider's `aws_eip` documentation): hence the optional dependency. Self-healing:
   * no interface, the instance associates it at boot.
   */
  private addElasticIp(
    wanted: boolean,
    name: string,
    tags: Record<string, string>,
    internetGateway?: ITerraformDependable,
    networkInterface?: string,
  ): Eip {
    return new Eip(this, 'eip', {
      count: Token.isUnresolved(wanted) ? countWhen(wanted) : undefined,
      domain: 'vpc',
      networkInterface,
      tags: tagsWithName(tags, name),
      dependsOn: internetGateway ? [internetGateway] : undefined,
    });
  }

  /** `0.0.0.0/0` → the forwarding interface in every route table (route mode `terraform`). */
  private addDefaultRoutes(routeTableIds: string[], networkInterfaceId: string): void {
    const route = { destinationCidrBlock: '0.0.0.0/0', networkInterfaceId };
    if (Token.isUnresolved(routeTableIds)) {
      // count, not for_each: route-table IDs created in the same apply are unknown at plan.
      const count = TerraformCount.of(Fn.lengthOf(routeTableIds));
      new Route(this, 'default-route', { count, routeTableId: Fn.element(routeTableIds, count.index), ...route });
    } else {
      routeTableIds.forEach((routeTableId, i) => new Route(this, `default-route-${i}`, { routeTableId, ...route }));
    }
  }
}

/**
 * Both interfaces of an instance must be in its zone, or attaching the forwarding interface fails
 * at apply. Concrete zones are checked at synth (nat-validation.ts); when either is known only to
 * Terraform (a data source, a module's subnets), this precondition fails `terraform plan` instead.
 */
function sameZonePrecondition(forwardingSubnet: SubnetInfo, publicSubnet: SubnetInfo): TerraformResourceLifecycle | undefined {
  const forwardingZone = forwardingSubnet.availabilityZone;
  const publicZone = publicSubnet.availabilityZone;
  if (forwardingZone === undefined || publicZone === undefined || (!Token.isUnresolved(forwardingZone) && !Token.isUnresolved(publicZone))) {
    return undefined;
  }
  return {
    precondition: [
      {
        condition: Op.eq(forwardingZone, publicZone),
        errorMessage:
          `NAT dual mode: the forwarding interface's subnet ${forwardingSubnet.id} is in ${forwardingZone} but the public subnet ` +
          `${publicSubnet.id} is in ${publicZone}; all interfaces of an instance must be in its availability zone, so the ` +
          `forwarding subnet (the first private subnet unless chosen) must be in ${publicZone}.`,
      },
    ],
  };
}

/** Concatenates two lists, through Terraform's `concat` when either is a token list. */
function concatLists(first: string[], second: string[]): string[] {
  return Token.isUnresolved(first) || Token.isUnresolved(second) ? Fn.concat([first, second]) : [...first, ...second];
}
