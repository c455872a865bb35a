import { Construct } from 'constructs';
import { Fn, TerraformCount, TerraformOutput, TerraformStack, TerraformVariable, Token } from 'cdktf';
import { DataAwsSubnet } from '@cdktf/provider-aws/lib/data-aws-subnet';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { GRAVITON_INSTANCE_TYPE, NatInstance, NatMode, PortForward } from '../modules/nat';
import { NAT_INSTANCE_SETTINGS as S, PORT_FORWARD_SETTINGS as F } from '../modules/nat/nat-settings';
import { TerraformCheck } from '../modules/shared/terraform-check';
import { splat } from '../modules/shared/terraform-expressions';
import { nullableVariableOf, objectListType, objectListValidations, variableOf } from './module-variables';
import { addNatModulePreconditions, DUAL_MODE_WITHOUT_ELASTIC_IP, fallbackInstanceTypePreconditions } from './nat-module-conditions';
import { CHECK_BLOCK_TERRAFORM_VERSION, requireSupportedVersions } from './supported-versions';

/** The attributes of a `port_forwards` entry, in the order users read them. */
const PORT_FORWARD_ATTRIBUTES = [F.publicPort, F.protocol, F.targetIp, F.targetPort, F.allowedCidrs, F.preserveClientIp, F.allowAnySource];

export interface NatModuleStackOptions {
  /**
   * Build the self-healing NAT (a launch template and an Auto Scaling group of one) instead of the
   * plain instance: fixed here, not a variable, so that neither module carries the other's
   * resources behind counts. Variables that do not apply to it are left out (see below).
   * @default false
   */
  readonly selfHealing?: boolean;
}

/**
 * The NAT instance as a plain Terraform module (`cdktf.out/stacks/nat-module`): variables in,
 * outputs out, no provider block and no backend, so HCL users call it with `module {}`, with
 * `count` or `for_each`. Inputs mirror the reusable dual-interface NAT module's.
 *
 * With `selfHealing` (`terraform/modules/nat-instance-self-healing`): the same code and variables
 * where they apply, plus `fallback_instance_types` and `spot`. Left out: `elastic_ip`,
 * `eip_allocation_ids` and `public_ip_count` (the NAT always creates one Elastic IP, which every
 * replacement takes over) and the two status-check alarms (they watch one instance ID; the group
 * replaces the instance instead).
 */
export class NatModuleStack extends TerraformStack {
  constructor(scope: Construct, id: string, options: NatModuleStackOptions = {}) {
    super(scope, id);
    const selfHealing = options.selfHealing ?? false;
    // cdktf needs a provider construct to synthesize, but a module must not configure providers
    // (it could not be used with count/for_each): the block is removed, only the requirement stays.
    new AwsProvider(this, 'aws');
    this.addOverride('provider', undefined);
    this.addOverride('terraform.backend', undefined);
    requireSupportedVersions(this);

    // Variables, their types, defaults and validation blocks: the settings table's rules.
    const vpcId = variableOf(this, S.vpcId, 'ID of the VPC the NAT serves.');
    const publicSubnetId = variableOf(
      this,
      S.publicSubnetId,
      "Public subnet (routed to an internet gateway) of the NAT's primary interface.",
    );
    const privateSubnetIds = variableOf(
      this,
      S.privateSubnetIds,
      "Private subnets whose traffic the NAT translates. In dual mode the first one holds the forwarding interface and must be in the public subnet's availability zone (checked at plan).",
    );
    const routeTableIds = variableOf(
      this,
      S.routeTableIds,
      selfHealing
        ? 'Route tables whose 0.0.0.0/0 route each instance points at itself when it boots (replacements included).'
        : 'Route tables whose 0.0.0.0/0 route is pointed at the NAT.',
    );
    const mode = variableOf(
      this,
      S.mode,
      selfHealing
        ? 'single: one interface in the public subnet; dual: plus a static forwarding interface in the first private subnet, which every instance attaches at boot.'
        : 'single: one interface in the public subnet; dual: plus a forwarding interface in the first private subnet.',
    );
    const plain = selfHealing ? undefined : this.plainInstanceVariables();
    const instanceType = variableOf(this, S.instanceType, 'EC2 instance type; Graviton (…g.) types get the arm64 AMI.');
    const additionalSecurityGroupIds = variableOf(this, S.additionalSecurityGroupIds, 'Security groups whose members may use the NAT.');
    const additionalCidrs = variableOf(
      this,
      S.additionalCidrs,
      'More client CIDRs (peered VPCs, Transit Gateway ranges) admitted on every port and translated; 2^25 addresses or more need allow_any_client_source.',
    );
    variableOf(this, S.allowAnyClientSource, 'Let additional_cidrs cover the internet (2^25 addresses or more, however split).');
    const name = variableOf(this, S.name, 'Name prefix of every resource (IAM role and policy, security group, Name tags).');
    const portForwards = new TerraformVariable(this, 'port_forwards', {
      type: objectListType(PORT_FORWARD_ATTRIBUTES),
      default: [],
      description:
        'Inbound port forwards: public_port on the NAT to target_ip:target_port (a usable address of a private subnet), admitted only from ' +
        'allowed_cidrs (2^25 addresses or more need allow_any_source); preserve_client_ip false makes the target see the NAT as the source.',
      validation: [
        ...objectListValidations('port_forwards', PORT_FORWARD_ATTRIBUTES, { allowed_cidrs: 'allow_any_source' }),
        {
          condition:
            '${length(distinct([for f in var.port_forwards : format("%s/%v", f.protocol, f.public_port)])) == length(var.port_forwards)}',
          errorMessage: 'port_forwards: each protocol and public_port pair may appear only once.',
        },
      ],
    });
    const metrics = variableOf(
      this,
      S.metrics,
      'A metrics publisher on the instance: EgressProbe, ConntrackUsePercent and OwnedRouteTables to the CloudWatch namespace cdktf-nat-instance every minute (dimension NatName = name).',
    );
    const alarmSwitch = (setting: typeof S.alarmRecover) => variableOf(this, setting).booleanValue as unknown as boolean;
    const alarms = {
      // They watch one instance's status checks; a self-healing group replaces a failed instance instead.
      ...(selfHealing ? {} : { recoverOnSystemFailure: alarmSwitch(S.alarmRecover), rebootOnInstanceFailure: alarmSwitch(S.alarmReboot) }),
      egressProbe: alarmSwitch(S.alarmEgressProbe),
      connectionTracking: alarmSwitch(S.alarmConnectionTracking),
      topicArn: nullableVariableOf(this, S.alarmTopicArn).stringValue,
    };
    const tags = variableOf(this, S.tags, 'Tags for every resource: at most 50 counting the Name tag added to each, no aws: keys.');
    const fallbackInstanceTypes = selfHealing
      ? variableOf(
          this,
          S.fallbackInstanceTypes,
          'More instance types the Auto Scaling group may launch when instance_type has no capacity, in order of preference; of the architecture of instance_type (checked at plan).',
        )
      : undefined;
    const spot = selfHealing
      ? variableOf(
          this,
          S.spot,
          'Launch on Spot capacity (capacity-optimized-prioritized); a reclaimed instance is replaced like a failed one, with a gap in egress while it boots.',
        )
      : undefined;

    // CIDRs of the private subnets, looked up by count (IDs may be unknown until apply).
    const subnetCount = TerraformCount.of(Fn.lengthOf(privateSubnetIds.listValue));
    const privateSubnetData = new DataAwsSubnet(this, 'private_subnet', {
      count: subnetCount,
      id: Fn.element(privateSubnetIds.listValue, subnetCount.index),
    });
    const privateCidrs = splat(privateSubnetData, 'cidr_block');
    const publicSubnetData = new DataAwsSubnet(this, 'public_subnet', { id: publicSubnetId.stringValue });

    const nat = new NatInstance(this, 'nat', {
      name: name.stringValue,
      vpcId: vpcId.stringValue,
      mode: mode.stringValue as NatMode,
      // The zones feed the plan-time check that both interfaces of a dual-mode NAT share one zone.
      publicSubnet: {
        id: publicSubnetId.stringValue,
        cidrBlock: publicSubnetData.cidrBlock,
        availabilityZone: publicSubnetData.availabilityZone,
      },
      privateSubnets: { ids: privateSubnetIds.listValue, cidrBlocks: privateCidrs },
      forwardingSubnet: {
        id: Fn.element(privateSubnetIds.listValue, 0),
        cidrBlock: Fn.element(privateCidrs, 0),
        availabilityZone: Fn.element(splat(privateSubnetData, 'availability_zone'), 0),
      },
      routeTableIds: routeTableIds.listValue,
      ...(plain && {
        elasticIp: plain.elasticIp.booleanValue as unknown as boolean,
        elasticIpAllocationIds: plain.eipAllocationIds.listValue,
        // Unset: one address per owned Elastic IP, at least one (as the construct's default).
        publicIpCount: Token.asNumber(Fn.coalesce([plain.publicIpCount.value, Fn.max([1, Fn.lengthOf(plain.eipAllocationIds.listValue)])])),
      }),
      instanceType: instanceType.stringValue,
      architecture: Token.asString(
        Fn.conditional(Fn.can(Fn.regex(GRAVITON_INSTANCE_TYPE, instanceType.stringValue)), 'arm64', 'x86_64'),
      ) as 'arm64',
      additionalCidrs: additionalCidrs.listValue,
      additionalSecurityGroupIds: additionalSecurityGroupIds.listValue,
      portForwards: Token.asAny(portForwards.value) as unknown as PortForward[],
      tags: Token.asStringMap(tags.value),
      metrics: metrics.booleanValue as unknown as boolean,
      alarms,
      ...(selfHealing && { selfHealing: true, spot: spot!.booleanValue as unknown as boolean }),
    });
    // `check` blocks need Terraform 1.5 (both modules require it, so that switching is a version-neutral edit).
    this.addOverride('terraform.required_version', CHECK_BLOCK_TERRAFORM_VERSION);
    const output = (outputName: string, value: string, description: string) =>
      new TerraformOutput(this, outputName, { value, description });

    if (nat.autoScalingGroup && fallbackInstanceTypes) {
      const group = nat.autoScalingGroup;
      // The construct takes a list written out in code; a variable's list becomes the overrides
      // here, by a dynamic block over the list itself (cdktf's iterators would wrap it in toset,
      // which sorts it and loses the order of preference).
      group.autoScalingGroup.addOverride('mixed_instances_policy.launch_template.override', undefined);
      group.autoScalingGroup.addOverride('mixed_instances_policy.launch_template.dynamic.override', {
        for_each: `\${concat([${instanceType.fqn}], ${fallbackInstanceTypes.fqn})}`,
        content: { instance_type: '${override.value}' },
      });
      addNatModulePreconditions(group.launchTemplate, privateSubnetData, fallbackInstanceTypePreconditions());
      output('public_ip', nat.publicIp, 'Egress IP of the NAT: its Elastic IP, which every replacement instance associates at boot.');
      output('security_group_id', nat.securityGroupId, "The NAT's security group: add clients to it or use additional_* inputs.");
      output(
        'forwarding_interface_id',
        nat.forwardingInterfaceId ?? '',
        'Dual mode: the static forwarding interface that the route tables target and every instance attaches at boot; empty in single mode.',
      );
      output(
        'autoscaling_group_name',
        group.autoScalingGroupName,
        'Name of the Auto Scaling group of one that replaces a failed NAT instance.',
      );
      output(
        'launch_template_id',
        group.launchTemplate.id,
        'Launch template of the NAT instances (a new version for every settings change).',
      );
      output('role_name', nat.role?.roleName ?? '', 'Instance role (SSM core access); attach further policies here.');
      return;
    }
    // What the construct checks at synth across props, the module checks at plan, when the
    // subnets' CIDRs are known from the data sources (the zones: the construct's own precondition).
    addNatModulePreconditions(nat.instance!, privateSubnetData);
    new TerraformCheck(this, 'dual_mode_elastic_ip', DUAL_MODE_WITHOUT_ELASTIC_IP);

    output('instance_id', nat.instanceId ?? '', 'ID of the NAT instance.');
    output('public_ip', nat.publicIp, 'Egress IP of the NAT (its first Elastic IP when elastic_ip is true).');
    new TerraformOutput(this, 'public_ips', { value: nat.publicIps, description: 'Every egress IP of the NAT, owned Elastic IPs first.' });
    output('security_group_id', nat.securityGroupId, "The NAT's security group: add clients to it or use additional_* inputs.");
    output('forwarding_interface_id', nat.forwardingInterfaceId ?? '', 'Network interface that the private route tables target.');
    output('role_name', nat.role?.roleName ?? '', 'Instance role (SSM core access); attach further policies here.');
  }

  /** The variables of the plain instance only: its public addresses. */
  private plainInstanceVariables() {
    return {
      elasticIp: variableOf(
        this,
        S.elasticIp,
        'Associate an Elastic IP with the public interface (keeps the egress IP across stop/start; dual mode needs it).',
      ),
      eipAllocationIds: variableOf(
        this,
        S.elasticIpAllocationIds,
        'Elastic IPs you own (allocation IDs) to use instead of new ones, on the first public addresses; only associated, so destroy never releases them. Needs elastic_ip.',
      ),
      publicIpCount: nullableVariableOf(
        this,
        S.publicIpCount,
        'Public addresses of the NAT, each with an Elastic IP (each adds 64,512 connections to one destination); ' +
          'default: one per eip_allocation_ids entry, at least 1. At most what one interface of instance_type carries (2 on t4g.nano; checked at plan).',
      ),
    };
  }
}
