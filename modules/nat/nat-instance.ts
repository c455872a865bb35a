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
import { architectureOf, latestAl2023AmiId } from './ami';
import { NatBootSettings, NatMode, RouteMode } from './boot-settings';
import { NAT_INSTANCE_SETTINGS as S } from './nat-settings';
import { NatInstanceProps } from './nat-instance-props';
import { NatSecurityGroup } from './nat-security-group';
import { validateNatInstanceProps } from './nat-validation';
import { SubnetInfo, subnetCidrBlocks } from '../shared/subnet';
import { attributeOrElse, countWhen, equalsValue } from '../shared/terraform-expressions';
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
  public readonly instance: Instance;
  public readonly instanceId: string;
  /** The egress IP: the (first) Elastic IP, or the instance's auto-assigned public IP. */
  public readonly publicIp: string;
  /** Every egress IP: one per address of the public interface. */
  public readonly publicIps: string[];
  /** The interface private route tables must target (secondary in dual mode, primary in single). */
  public readonly forwardingInterfaceId: string;
  public readonly securityGroupId: string;
  /** The role created for the instance, unless `instanceProfileName` was given. */
  public readonly role?: SsmInstanceRole;
  /** The first Elastic IP created here (none when every address is owned or `elasticIp` is false). */
  public readonly elasticIp?: Eip;
  /** Associations of the Elastic IPs given by `elasticIpAllocationIds`: destroy removes them, never the addresses. */
  public readonly elasticIpAssociations: EipAssociation[];
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
    const routeMode = props.routeMode ?? NAT_DEFAULTS.routeMode;
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

    this.bootSettings = {
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
    this.userData = renderNatUserData(this.bootSettings);

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
    const publicInterface = new PublicInterface(this, {
      subnetId: props.publicSubnet.id,
      securityGroupId: this.securityGroupId,
      sourceDestCheck: isDual,
      addressCount: publicAddressCount,
      preconditions: this.publicAddressPreconditions(publicAddressCount, instanceType, wantsElasticIp),
      name,
      tags,
    });
    this.instance = new Instance(this, 'instance', {
      ami: props.amiId ?? latestAl2023AmiId(this, 'ami', architecture),
      instanceType,
      // Single mode forwards through the primary interface (source/destination check off); in dual mode the secondary does.
      ...publicInterface.instanceNetworking,
      iamInstanceProfile: instanceProfileName,
      keyName: props.keyName,
      // EC2 refuses user data over 16 KB and the script alone is larger: Terraform compresses the
      // readable document kept in a local (cloud-init decompresses it). Compressing here instead
      // would make the bytes depend on the machine's zlib and needlessly replace the instance.
      userDataBase64: Fn.base64gzip(new TerraformLocal(this, 'user_data', this.userData).asString),
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
    publicInterface.attachTo(this.instance);
    this.instanceId = this.instance.id;

    this.forwardingInterfaceId =
      mode !== 'single' && forwardingSubnet
        ? this.addForwardingInterface(forwardingSubnet, props.publicSubnet, isDual, Token.isUnresolved(mode), name, tags)
        : this.instance.primaryNetworkInterfaceId;
    const addresses = addPublicAddresses(this, {
      networkInterfaceId: this.instance.primaryNetworkInterfaceId,
      privateIpOf: (place) => publicInterface.privateIpOf(place),
      count: publicAddressCount,
      ownedAllocationIds: props.elasticIpAllocationIds ?? [],
      createElasticIps: wantsElasticIp,
      fallbackPublicIp: this.instance.publicIp,
      internetGateway: props.internetGateway,
      name,
      tags,
    });
    this.elasticIp = addresses.created[0];
    this.elasticIpAssociations = addresses.associations;
    this.publicIps = addresses.publicIps;
    this.publicIp = addresses.publicIp;

    if (routeMode !== 'self-claim') this.addDefaultRoutes(props.routeTableIds);
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
      ? attributeOrElse(forwardingInterface, 'id', this.instance.primaryNetworkInterfaceId)
      : forwardingInterface.id;
    new NetworkInterfaceAttachment(this, 'forwarding-eni-attachment', {
      count,
      instanceId: this.instance.id,
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
      { condition: Token.asAny(createElasticIps), errorMessage: 'Several public addresses need elastic_ip = true: secondary addresses reach the internet only through Elastic IPs.' },
    ];
  }

  /** `0.0.0.0/0` → the forwarding interface in every route table (route mode `terraform`). */
  private addDefaultRoutes(routeTableIds: string[]): void {
    const route = { destinationCidrBlock: '0.0.0.0/0', networkInterfaceId: this.forwardingInterfaceId };
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
