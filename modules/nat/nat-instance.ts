import { Construct } from 'constructs';
import { Annotations, Fn, Op, TerraformCount, TerraformLocal, TerraformResourceLifecycle, Token } from 'cdktf';
import { Instance } from '@cdktf/provider-aws/lib/instance';
import { NetworkInterface } from '@cdktf/provider-aws/lib/network-interface';
import { NetworkInterfaceAttachmentA as NetworkInterfaceAttachment } from '@cdktf/provider-aws/lib/network-interface-attachment';
import { Eip } from '@cdktf/provider-aws/lib/eip';
import { EipAssociation } from '@cdktf/provider-aws/lib/eip-association';
import { Route } from '@cdktf/provider-aws/lib/route';
import { SsmInstanceRole } from '../iam/ssm-instance-role';
import { RouteClaimPolicy } from '../iam/route-claim-policy';
import { SelfHealingPolicy } from '../iam/self-healing-policy';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { DataAwsEip } from '@cdktf/provider-aws/lib/data-aws-eip';
import { NatAutoScalingGroup } from './nat-auto-scaling-group';
import { MetricsPolicy } from '../iam/metrics-policy';
import { NatAlarms } from './nat-alarms';
import { METRICS_NAMESPACE, MetricsSettings } from './metrics-settings';
import { architectureOf, latestAl2023AmiId } from './ami';
import { NatBootSettings, NatMode, RouteMode } from './boot-settings';
import { NAT_INSTANCE_SETTINGS as S } from './nat-settings';
import { NatInstanceProps } from './nat-instance-props';
import { NatSecurityGroup } from './nat-security-group';
import { validateNatInstanceProps } from './nat-validation';
import { SubnetInfo, subnetCidrBlocks } from '../shared/subnet';
import { attributeOrElse, countWhen, equalsValue, splat } from '../shared/terraform-expressions';
import { addPublicAddresses } from './public-addresses';
import { publicAddressCountOf, publicAddressWarnings } from './public-address-validation';
import { PublicInterface } from './public-interface';
import { ipv4AddressesPerInterface, ipv4AddressesPerInterfaceOf, MAX_ADDRESSES_PER_INTERFACE } from './interface-address-limits';
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
  metrics: S.metrics.default as boolean,
  egressProbeUrl: S.egressProbeUrl.default as string,
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
  /** The egress IP: the (first) Elastic IP, or the instance's auto-assigned public IP. */
  public readonly publicIp: string;
  /** Every egress IP: one per address of the public interface. */
  public readonly publicIps: string[];
  /**
   * The interface private route tables target (secondary in dual mode, primary in single).
   * Undefined for a self-healing single-mode NAT: every replacement brings its own.
   */
  public readonly forwardingInterfaceId?: string;
  public readonly securityGroupId: string;
  /** The role created for the instance, unless `instanceProfileName` was given. */
  public readonly role?: SsmInstanceRole;
  /** The first Elastic IP created here (none when every address is owned or `elasticIp` is false). */
  public readonly elasticIp?: Eip;
  /** Associations of the Elastic IPs given by `elasticIpAllocationIds`: destroy removes them, never the addresses. */
  public readonly elasticIpAssociations: EipAssociation[];
  /** Self-claim mode: the policy scoped to `routeTableIds` (attached to the created role). */
  public readonly routeClaimPolicy?: RouteClaimPolicy;
  /** With `metrics`: the policy that lets the instance publish to its namespace only (attached to the created role). */
  public readonly metricsPolicy?: MetricsPolicy;
  /** The CloudWatch alarms: on the instance's status checks (a plain instance) and on the published metrics. */
  public readonly alarms: NatAlarms;
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
    const publicAddressCount = publicAddressCountOf(props);
    publicAddressWarnings(props).forEach((warning) => Annotations.of(this).addWarning(warning));
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
      publicAddressCount,
      portForwards,
    };

    let instanceProfileName = props.instanceProfileName;
    if (instanceProfileName === undefined) {
      this.role = new SsmInstanceRole(this, 'role', { name, tags });
      instanceProfileName = this.role.instanceProfileName;
    }
    // The role the NAT's own policies are attached to: ours, or the one behind the caller's profile.
    const policyRoleName = this.role?.roleName ?? props.instanceRoleName;

    if (routeMode === 'self-claim') {
      this.routeClaimPolicy = new RouteClaimPolicy(this, 'route-claim', {
        name: `${name}${NAME_SUFFIXES.routeClaimPolicy}`,
        routeTableIds: props.routeTableIds,
        roleName: policyRoleName,
        tags,
      });
      if (policyRoleName === undefined) {
        Annotations.of(this).addWarning(
          `'routeMode' is 'self-claim' with your own 'instanceProfileName' and no 'instanceRoleName': attach routeClaimPolicy.policyArn to that profile's role`,
        );
      }
    }

    const metrics = props.metrics ?? NAT_DEFAULTS.metrics;
    const metricsSettings: MetricsSettings | undefined =
      metrics === false ? undefined : { name, probeUrl: props.egressProbeUrl ?? NAT_DEFAULTS.egressProbeUrl, enabled: metrics };
    if (metrics !== false) {
      this.metricsPolicy = new MetricsPolicy(this, 'metrics', {
        name: `${name}${NAME_SUFFIXES.metricsPolicy}`,
        namespace: METRICS_NAMESPACE,
        roleName: policyRoleName,
        enabled: Token.isUnresolved(metrics) ? metrics : undefined,
        tags,
      });
      if (policyRoleName === undefined) {
        Annotations.of(this).addWarning(
          `'metrics' is on with your own 'instanceProfileName' and no 'instanceRoleName': attach metricsPolicy.policyArn to that profile's role, or the publisher cannot publish`,
        );
      }
    }

    const architecture = props.architecture ?? architectureOf(instanceType) ?? 'arm64';
    if (selfHealing) {
      const healing = this.addSelfHealing(props, {
        name,
        mode,
        forwardingSubnet,
        wantsElasticIp,
        instanceType,
        architecture,
        instanceProfileName,
        policyRoleName,
        publicAddressCount,
        tags,
        bootSettings,
        metricsSettings,
      });
      this.elasticIp = healing.elasticIp;
      this.publicIp = healing.publicIp;
      this.publicIps = [healing.publicIp];
      this.elasticIpAssociations = [];
      this.forwardingInterfaceId = healing.forwardingInterfaceId;
      this.bootSettings = healing.bootSettings;
      this.userData = healing.userData;
      this.selfHealingPolicy = healing.policy;
      this.autoScalingGroup = healing.group;
      // Replacements get new instance IDs: only the alarms on published metrics (by NatName) apply.
      this.alarms = new NatAlarms(this, 'alarms', { name, options: props.alarms ?? {}, metrics, tags });
      return;
    }
    this.bootSettings = bootSettings;
    this.userData = renderNatUserData(this.bootSettings, undefined, { healthAgent: props.healthAgent, metrics: metricsSettings });
    const publicInterface = new PublicInterface(this, {
      subnetId: props.publicSubnet.id,
      securityGroupId: this.securityGroupId,
      sourceDestCheck: isDual,
      addressCount: publicAddressCount,
      preconditions: this.publicAddressPreconditions(publicAddressCount, instanceType, wantsElasticIp),
      name,
      tags,
    });
    const instance = new Instance(this, 'instance', {
      ami: props.amiId ?? latestAl2023AmiId(this, 'ami', architecture),
      instanceType,
      // Single mode forwards through the primary interface (source/destination check off); in dual mode the secondary does.
      ...publicInterface.instanceNetworking,
      iamInstanceProfile: instanceProfileName,
      keyName: props.keyName,
      // EC2 refuses user data over 16 KB and the script alone is larger: Terraform compresses the
      // readable document kept in a local (cloud-init decompresses it). Compressing here instead
      // would make the bytes depend on the machine's zlib and needlessly replace the instance.
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
    publicInterface.attachTo(instance);
    this.instanceId = instance.id;

    this.forwardingInterfaceId =
      mode !== 'single' && forwardingSubnet
        ? this.addForwardingInterface(forwardingSubnet, props.publicSubnet, isDual, Token.isUnresolved(mode), name, tags)
        : instance.primaryNetworkInterfaceId;
    const addresses = addPublicAddresses(this, {
      networkInterfaceId: instance.primaryNetworkInterfaceId,
      privateIpOf: (place) => publicInterface.privateIpOf(place),
      count: publicAddressCount,
      ownedAllocationIds: props.elasticIpAllocationIds ?? [],
      createElasticIps: wantsElasticIp,
      fallbackPublicIp: instance.publicIp,
      internetGateway: props.internetGateway,
      name,
      tags,
    });
    this.elasticIp = addresses.created[0];
    this.elasticIpAssociations = addresses.associations;
    this.publicIps = addresses.publicIps;
    this.publicIp = addresses.publicIp;
    this.alarms = new NatAlarms(this, 'alarms', { name, instanceId: instance.id, options: props.alarms ?? {}, metrics, tags });

    if (routeMode !== 'self-claim') this.addDefaultRoutes(props.routeTableIds);
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
   * `selfHealing`: a launch template and an Auto Scaling group of one instead of the instance. The
   * Elastic IP (created, or the first of `elasticIpAllocationIds`) and the dual-mode forwarding
   * interface outlive every instance: each replacement's boot script takes them over
   * (docs/high-availability.md explains the choice).
   */
  private addSelfHealing(
    props: NatInstanceProps,
    opts: {
      name: string;
      mode: NatMode;
      forwardingSubnet?: SubnetInfo;
      wantsElasticIp: boolean;
      instanceType: string;
      architecture: 'arm64' | 'x86_64';
      instanceProfileName: string;
      policyRoleName?: string;
      publicAddressCount: number;
      tags: Record<string, string>;
      bootSettings: NatBootSettings;
      metricsSettings?: MetricsSettings;
    },
  ): {
    elasticIp?: Eip;
    publicIp: string;
    forwardingInterfaceId?: string;
    bootSettings: NatBootSettings;
    userData: string;
    policy: SelfHealingPolicy;
    group: NatAutoScalingGroup;
  } {
    const { name, mode, tags } = opts;
    if (opts.publicAddressCount !== 1) {
      throw new Error(
        `'selfHealing' takes over one public address; 'publicIpCount' and 'elasticIpAllocationIds' ask for ${opts.publicAddressCount}`,
      );
    }
    const owned = props.elasticIpAllocationIds?.[0];
    // Not associated by Terraform: the instance associates it at boot.
    const elasticIp =
      owned === undefined && opts.wantsElasticIp
        ? new Eip(this, 'eip', {
            domain: 'vpc',
            tags: tagsWithName(tags, name),
            dependsOn: props.internetGateway ? [props.internetGateway] : undefined,
          })
        : undefined;
    const allocationId = owned ?? elasticIp?.allocationId;
    const publicIp = owned !== undefined ? new DataAwsEip(this, 'owned-eip', { id: owned }).publicIp : (elasticIp?.publicIp ?? '');
    if (allocationId === undefined) {
      Annotations.of(this).addWarning(`'elasticIp' is false with 'selfHealing': every replacement egresses from a new public IP`);
    }
    // A mode known only to Terraform (a module variable): the interface is counted by it, and the
    // settings and the policy hold each mode's lines and statements behind a conditional.
    const modeIsToken = Token.isUnresolved(mode);
    const forwardingInterfaceId =
      (mode === 'dual' || modeIsToken) && opts.forwardingSubnet
        ? this.addStaticForwardingInterface(
            opts.forwardingSubnet,
            props.publicSubnet,
            name,
            tags,
            modeIsToken ? countWhen(equalsValue(mode, 'dual')) : undefined,
          )
        : undefined;
    const singleMode = equalsValue(mode, 'single');
    const bootSettings: NatBootSettings = {
      ...opts.bootSettings,
      elasticIpAllocationId: allocationId,
      forwardingInterfaceId,
      disableSourceDestCheck: singleMode,
    };
    const userData = renderNatUserData(bootSettings, undefined, { healthAgent: props.healthAgent, metrics: opts.metricsSettings });
    (this as { userData: string }).userData = userData;
    const policy = new SelfHealingPolicy(this, 'self-healing', {
      name: `${name}-self-healing`,
      tagValue: name,
      elasticIpAllocationId: allocationId,
      forwardingInterfaceId,
      disablesSourceDestCheck: singleMode,
      roleName: opts.policyRoleName,
      tags,
    });
    if (opts.policyRoleName === undefined) {
      Annotations.of(this).addWarning(
        `'selfHealing' with your own 'instanceProfileName' and no 'instanceRoleName': attach selfHealingPolicy.policyArn to that profile's role`,
      );
    }
    const group = new NatAutoScalingGroup(this, 'group', {
      name,
      amiId: props.amiId ?? latestAl2023AmiId(this, 'ami', opts.architecture),
      instanceType: opts.instanceType,
      fallbackInstanceTypes: props.fallbackInstanceTypes,
      spot: props.spot,
      keyName: props.keyName,
      instanceProfileName: opts.instanceProfileName,
      publicSubnetId: props.publicSubnet.id,
      securityGroupId: this.securityGroupId,
      userDataBase64: this.compressedUserData(),
      rootVolumeSize: props.rootVolumeSize ?? NAT_DEFAULTS.rootVolumeSize,
      ignoreAmiUpdates: !props.replaceOnAmiUpdate,
      // The first instance claims its routes and addresses at boot: its permissions come first.
      dependsOn: [this.routeClaimPolicy?.attachment, policy.attachment].filter(
        (attachment): attachment is IamRolePolicyAttachment => attachment !== undefined,
      ),
      tags,
    });
    return { elasticIp, publicIp, forwardingInterfaceId, bootSettings, userData, policy, group };
  }

  /**
   * Self-healing dual mode: the forwarding interface, created once and attached by every
   * replacement at boot, so the route tables' target and the forwarding address never change.
   * With `count` (a mode known only to Terraform) it exists in dual mode, and the ID is empty otherwise.
   */
  private addStaticForwardingInterface(
    subnet: SubnetInfo,
    publicSubnet: SubnetInfo,
    name: string,
    tags: Record<string, string>,
    count?: number,
  ): string {
    const forwardingInterface = new NetworkInterface(this, 'forwarding-eni', {
      count,
      subnetId: subnet.id,
      securityGroups: [this.securityGroupId],
      sourceDestCheck: false,
      description: `${name} forwarding interface (attached by each self-healing instance at boot)`,
      tags: tagsWithName(tags, `${name}-forwarding`),
      lifecycle: sameZonePrecondition(subnet, publicSubnet),
    });
    return count === undefined ? forwardingInterface.id : Fn.join('', splat(forwardingInterface, 'id'));
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
      ? attributeOrElse(forwardingInterface, 'id', this.instance!.primaryNetworkInterfaceId)
      : forwardingInterface.id;
    new NetworkInterfaceAttachment(this, 'forwarding-eni-attachment', {
      count,
      instanceId: this.instance!.id,
      networkInterfaceId: forwardingInterfaceId,
      deviceIndex: 1,
    });
    return forwardingInterfaceId;
  }

  /**
   * What Terraform checks before it creates a public interface with several addresses, when synth
   * could not (the count, the instance type or `elasticIp` is a module variable).
   */
  private publicAddressPreconditions(count: number, instanceType: string, createElasticIps: boolean) {
    if (![count, instanceType, createElasticIps].some((value) => Token.isUnresolved(value))) return [];
    const limit = Token.isUnresolved(instanceType)
      ? ipv4AddressesPerInterfaceOf(this, instanceType)
      : (ipv4AddressesPerInterface(instanceType) ?? MAX_ADDRESSES_PER_INTERFACE);
    return [
      {
        condition: Token.asAny(Op.lte(count, limit)),
        errorMessage:
          'The number of public addresses exceeds the IPv4 addresses one network interface of the instance type carries (2 on a t4g.nano; see the NAT module README).',
      },
      {
        condition: Token.asAny(createElasticIps),
        errorMessage: 'Several public addresses need elastic_ip = true: secondary addresses reach the internet only through Elastic IPs.',
      },
    ];
  }

  /** `0.0.0.0/0` → the forwarding interface in every route table (route mode `terraform`). */
  private addDefaultRoutes(routeTableIds: string[]): void {
    const route = { destinationCidrBlock: '0.0.0.0/0', networkInterfaceId: this.forwardingInterfaceId! };
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
  if (
    forwardingZone === undefined ||
    publicZone === undefined ||
    (!Token.isUnresolved(forwardingZone) && !Token.isUnresolved(publicZone))
  ) {
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
