import { Construct } from 'constructs';
import { Fn, TerraformCount, TerraformOutput, TerraformStack, TerraformVariable, Token } from 'cdktf';
import { DataAwsSubnet } from '@cdktf/provider-aws/lib/data-aws-subnet';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { GRAVITON_INSTANCE_TYPE, NatInstance, NatMode, PortForward } from '../modules/nat';
import { splat } from '../modules/shared/terraform-expressions';
import { requireSupportedVersions } from './supported-versions';


/** In `.tf.json` a validation condition is a template: the expression goes inside `${…}`. */
const ID_LIST = (prefix: string, variable: string) =>
  `\${length(var.${variable}) > 0 && alltrue([for id in var.${variable} : can(regex("^${prefix}-[0-9a-f]+$", id))])}`;

/** The `port_forwards` variable's type: `NatInstanceProps.portForwards` in Terraform's words. */
const PORT_FORWARDS_TYPE = `list(object({
    public_port        = number
    protocol           = optional(string, "tcp")
    target_ip          = string
    target_port        = number
    allowed_cidrs      = list(string)
    preserve_client_ip = optional(bool, true)
    allow_any_source   = optional(bool, false)
  }))`;

const isPort = (field: string) => `${field} == floor(${field}) && ${field} >= 1 && ${field} <= 65535`;
const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';

/** Checks of every entry `f` of `port_forwards` (the concrete path's synth checks) with their messages. */
const PORT_FORWARD_RULES: Array<[string, string]> = [
  [`${isPort('f.public_port')} && ${isPort('f.target_port')}`, 'port_forwards: public_port and target_port must be whole numbers from 1 to 65535.'],
  ['contains(["tcp", "udp"], f.protocol)', 'port_forwards: protocol must be "tcp" or "udp".'],
  [`can(regex("^${OCTET}([.]${OCTET}){3}$", f.target_ip))`, 'port_forwards: target_ip must be an IPv4 address like 10.0.1.10.'],
  [
    'length(f.allowed_cidrs) > 0 && alltrue([for cidr in f.allowed_cidrs : can(cidrhost(cidr, 0)) && !can(regex(":", cidr))])',
    'port_forwards: allowed_cidrs must hold at least one IPv4 CIDR block.',
  ],
  [
    'f.allow_any_source || !anytrue([for cidr in f.allowed_cidrs : endswith(cidr, "/0")])',
    'port_forwards: allowed_cidrs holds 0.0.0.0/0, the whole internet: set allow_any_source = true if you mean it.',
  ],
];

/**
 * The NAT instance as a plain Terraform module (`cdktf.out/stacks/nat-module`): variables in,
 * outputs out, no provider block and no backend, so HCL users call it with `module {}`, with
 * `count` or `for_each`. Inputs mirror seed 001's module.
 */
export class NatModuleStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    // cdktf needs a provider construct to synthesize, but a module must not configure providers
    // (it could not be used with count/for_each): the block is removed, only the requirement stays.
    new AwsProvider(this, 'aws');
    this.addOverride('provider', undefined);
    this.addOverride('terraform.backend', undefined);
    requireSupportedVersions(this);

    const variable = (name: string, config: ConstructorParameters<typeof TerraformVariable>[2]) =>
      new TerraformVariable(this, name, config);
    const vpcId = variable('vpc_id', {
      type: 'string',
      description: 'ID of the VPC the NAT serves.',
      validation: [{ condition: '${can(regex("^vpc-[0-9a-f]+$", var.vpc_id))}', errorMessage: 'vpc_id must look like vpc-0123abcd.' }],
    });
    const publicSubnetId = variable('public_subnet_id', {
      type: 'string',
      description: "Public subnet (routed to an internet gateway) of the NAT's primary interface.",
      validation: [
        { condition: '${can(regex("^subnet-[0-9a-f]+$", var.public_subnet_id))}', errorMessage: 'public_subnet_id must look like subnet-0123abcd.' },
      ],
    });
    const privateSubnetIds = variable('private_subnet_ids', {
      type: 'list(string)',
      description:
        "Private subnets whose traffic the NAT translates. In dual mode the first one holds the forwarding interface and must be in the public subnet's availability zone (checked at plan).",
      validation: [{ condition: ID_LIST('subnet', 'private_subnet_ids'), errorMessage: 'private_subnet_ids must hold at least one subnet-… ID.' }],
    });
    const routeTableIds = variable('route_table_ids', {
      type: 'list(string)',
      description: 'Route tables whose 0.0.0.0/0 route is pointed at the NAT.',
      validation: [{ condition: ID_LIST('rtb', 'route_table_ids'), errorMessage: 'route_table_ids must hold at least one rtb-… ID.' }],
    });
    const mode = variable('mode', {
      type: 'string',
      default: 'single',
      description: 'single: one interface in the public subnet; dual: plus a forwarding interface in the first private subnet.',
      validation: [{ condition: '${contains(["single", "dual"], var.mode)}', errorMessage: 'mode must be "single" or "dual".' }],
    });
    const elasticIp = variable('elastic_ip', {
      type: 'bool',
      default: true,
      description: 'Associate an Elastic IP with the public interface (keeps the egress IP across stop/start; dual mode needs it).',
    });
    const instanceType = variable('instance_type', {
      type: 'string',
      default: 't4g.nano',
      description: 'EC2 instance type; Graviton (…g.) types get the arm64 AMI.',
      validation: [
        { condition: '${can(regex("^[a-z][a-z0-9-]*[.][a-z0-9]+$", var.instance_type))}', errorMessage: 'instance_type must look like t4g.nano.' },
      ],
    });
    const additionalSecurityGroupIds = variable('additional_security_group_ids', {
      type: 'list(string)',
      default: [],
      description: 'Security groups whose members may use the NAT.',
      validation: [
        {
          condition: '${alltrue([for id in var.additional_security_group_ids : can(regex("^sg-[0-9a-f]+$", id))])}',
          errorMessage: 'additional_security_group_ids must hold sg-… IDs.',
        },
      ],
    });
    const additionalCidrs = variable('additional_cidrs', {
      type: 'list(string)',
      default: [],
      description: 'More client CIDRs (peered VPCs, Transit Gateway ranges) admitted and translated.',
      validation: [
        {
          condition: '${alltrue([for cidr in var.additional_cidrs : can(cidrhost(cidr, 0)) && !can(regex(":", cidr))])}',
          errorMessage: 'additional_cidrs must hold IPv4 CIDR blocks.',
        },
      ],
    });
    const name = variable('name', {
      type: 'string',
      default: 'nat-instance',
      description: 'Name prefix of every resource.',
      validation: [{ condition: '${can(regex("^[A-Za-z0-9-]{1,40}$", var.name))}', errorMessage: 'name must be 1-40 letters, digits or dashes.' }],
    });
    const portForwards = variable('port_forwards', {
      type: PORT_FORWARDS_TYPE,
      default: [],
      description:
        'Inbound port forwards: public_port on the NAT to target_ip:target_port, admitted only from allowed_cidrs ' +
        '(0.0.0.0/0 needs allow_any_source); preserve_client_ip false makes the target see the NAT as the source.',
      validation: PORT_FORWARD_RULES.map(([rule, errorMessage]) => ({
        condition: `\${alltrue([for f in var.port_forwards : ${rule}])}`,
        errorMessage,
      })).concat({
        condition: '${length(distinct([for f in var.port_forwards : format("%s/%v", f.protocol, f.public_port)])) == length(var.port_forwards)}',
        errorMessage: 'port_forwards: each protocol and public_port pair may appear only once.',
      }),
    });
    const tags = variable('tags', { type: 'map(string)', default: {}, description: 'Tags for every resource.' });

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
      publicSubnet: { id: publicSubnetId.stringValue, cidrBlock: publicSubnetData.cidrBlock, availabilityZone: publicSubnetData.availabilityZone },
      privateSubnets: { ids: privateSubnetIds.listValue, cidrBlocks: privateCidrs },
      forwardingSubnet: {
        id: Fn.element(privateSubnetIds.listValue, 0),
        cidrBlock: Fn.element(privateCidrs, 0),
        availabilityZone: Fn.element(splat(privateSubnetData, 'availability_zone'), 0),
      },
      routeTableIds: routeTableIds.listValue,
      elasticIp: elasticIp.booleanValue as unknown as boolean,
      instanceType: instanceType.stringValue,
      architecture: Token.asString(
        Fn.conditional(Fn.can(Fn.regex(GRAVITON_INSTANCE_TYPE, instanceType.stringValue)), 'arm64', 'x86_64'),
      ) as 'arm64',
      additionalCidrs: additionalCidrs.listValue,
      additionalSecurityGroupIds: additionalSecurityGroupIds.listValue,
      portForwards: Token.asAny(portForwards.value) as unknown as PortForward[],
      tags: Token.asStringMap(tags.value),
    });

    const output = (outputName: string, value: string, description: string) =>
      new TerraformOutput(this, outputName, { value, description });
    output('instance_id', nat.instanceId ?? '', 'ID of the NAT instance.');
    output('public_ip', nat.publicIp, 'Egress IP of the NAT (the Elastic IP when elastic_ip is true).');
    output('security_group_id', nat.securityGroupId, "The NAT's security group: add clients to it or use additional_* inputs.");
    output('forwarding_interface_id', nat.forwardingInterfaceId ?? '', 'Network interface that the private route tables target.');
    output('role_name', nat.role?.roleName ?? '', 'Instance role (SSM core access); attach further policies here.');
  }
}
