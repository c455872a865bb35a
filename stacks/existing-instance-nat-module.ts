import { Construct } from 'constructs';
import { TerraformLocal, TerraformOutput, TerraformStack, TerraformVariable, Token } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { EXISTING_INSTANCE_REQUIREMENTS, ExistingInstanceNat } from '../modules/nat';
import { requireSupportedVersions } from './supported-versions';

/**
 * The existing-instance design as a plain Terraform module
 * (`cdktf.out/stacks/existing-instance-nat-module`): an instance the user already runs (an ECS
 * host serving a web app) becomes the NAT. The module creates the route-claim policy scoped to the
 * route tables' ARNs (attached to the host's role) and a security group admitting the private
 * subnets, and outputs the user data (or its `write_files` entries) and the settings the host's
 * `aws_instance` must have. No provider block and no backend, like `nat-module`.
 */
export class ExistingInstanceNatModuleStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    // cdktf needs a provider construct to synthesize; a module must not configure providers.
    new AwsProvider(this, 'aws');
    this.addOverride('provider', undefined);
    this.addOverride('terraform.backend', undefined);
    requireSupportedVersions(this);

    const variable = (name: string, config: ConstructorParameters<typeof TerraformVariable>[2]) =>
      new TerraformVariable(this, name, config);
    const name = variable('name', {
      type: 'string',
      default: 'nat-instance',
      description: 'Name prefix of the route-claim policy and the security group.',
      validation: [{ condition: '${can(regex("^[A-Za-z0-9-]{1,40}$", var.name))}', errorMessage: 'name must be 1-40 letters, digits or dashes.' }],
    });
    const vpcId = variable('vpc_id', {
      type: 'string',
      description: 'VPC of the host: the security group admitting the private subnets is created there.',
      validation: [{ condition: '${can(regex("^vpc-[0-9a-f]+$", var.vpc_id))}', errorMessage: 'vpc_id must look like vpc-0123abcd.' }],
    });
    const privateCidrs = variable('private_cidrs', {
      type: 'list(string)',
      description: 'IPv4 CIDR blocks of the private subnets whose traffic the host translates.',
      validation: [
        {
          condition: '${length(var.private_cidrs) > 0 && alltrue([for cidr in var.private_cidrs : can(cidrhost(cidr, 0)) && !can(regex(":", cidr))])}',
          errorMessage: 'private_cidrs must hold at least one IPv4 CIDR block.',
        },
      ],
    });
    const routeTableIds = variable('route_table_ids', {
      type: 'list(string)',
      description: 'Route tables whose 0.0.0.0/0 route the host points at itself at every boot.',
      validation: [
        {
          condition: '${length(var.route_table_ids) > 0 && alltrue([for id in var.route_table_ids : can(regex("^rtb-[0-9a-f]+$", id))])}',
          errorMessage: 'route_table_ids must hold at least one rtb-… ID.',
        },
      ],
    });
    const roleName = variable('role_name', {
      type: 'string',
      description: "Name of the IAM role of the host's instance profile; the route-claim policy is attached to it.",
      validation: [
        { condition: '${can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role_name))}', errorMessage: 'role_name must be an IAM role name (1-64 characters).' },
      ],
    });
    const tags = variable('tags', { type: 'map(string)', default: {}, description: 'Tags for the policy and the security group.' });

    const nat = new ExistingInstanceNat(this, 'nat', {
      name: name.stringValue,
      privateCidrs: privateCidrs.listValue,
      routeTableIds: routeTableIds.listValue,
      roleName: roleName.stringValue,
      vpcId: vpcId.stringValue,
      tags: Token.asStringMap(tags.value),
    });
    const userDataLocal = nat.node.findChild('user_data') as TerraformLocal;

    const output = (outputName: string, value: unknown, description: string) => new TerraformOutput(this, outputName, { value, description });
    output(
      'user_data_base64',
      nat.userDataBase64,
      "The complete cloud-config, gzip-compressed and base64-encoded by Terraform: the host's user_data_base64 (plain, it is over EC2's 16 KB limit).",
    );
    output('user_data', userDataLocal.asString, 'The same cloud-config, readable (for review; hand the instance user_data_base64).');
    output(
      'write_files',
      nat.writeFiles,
      'Only the write_files entries (settings file and per-boot script), for a host whose cloud-config already has a write_files key.',
    );
    output('route_claim_policy_arn', nat.routeClaimPolicy.policyArn, 'The policy that lets the host create or replace routes in route_table_ids only.');
    output('security_group_id', nat.securityGroupId, "Security group admitting all traffic from private_cidrs: add it to the host's vpc_security_group_ids.");
    output(
      'instance_requirements',
      { source_dest_check: EXISTING_INSTANCE_REQUIREMENTS.sourceDestCheck, associate_public_ip_address: EXISTING_INSTANCE_REQUIREMENTS.associatePublicIpAddress },
      'What the host itself must have: source/destination check off, and a public IPv4 address (or an Elastic IP) in a public subnet.',
    );
  }
}
