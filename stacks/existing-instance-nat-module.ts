import { Construct } from 'constructs';
import { TerraformLocal, TerraformOutput, TerraformStack, Token } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { EXISTING_INSTANCE_REQUIREMENTS, ExistingInstanceNat } from '../modules/nat';
import { EXISTING_INSTANCE_SETTINGS as S } from '../modules/nat/nat-settings';
import { anySourceCondition, anySourceMessage } from '../modules/shared/setting-rules';
import { variableOf } from './module-variables';
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

    // Variables, their types, defaults and validation blocks: the settings table's rules for the
    // construct's props (the table leaves module variable names to the module that has them).
    const name = variableOf(this, S.name, 'Name prefix of the route-claim policy and the security group.');
    const vpcId = variableOf(
      this,
      { ...S.vpcId, variable: 'vpc_id' },
      'VPC of the host: the security group admitting private_cidrs is created there.',
    );
    const privateCidrs = variableOf(
      this,
      { ...S.privateCidrs, variable: 'private_cidrs' },
      'IPv4 CIDR blocks of the private subnets whose traffic the host translates (admitted on every port by the security group); 2^25 addresses or more need allow_any_client_source.',
    );
    const allowAnyClientSource = variableOf(
      this,
      { ...S.allowAnyClientSource, variable: 'allow_any_client_source' },
      'Let private_cidrs cover the internet (2^25 addresses or more, however split).',
    );
    const routeTableIds = variableOf(this, S.routeTableIds, 'Route tables whose 0.0.0.0/0 route the host points at itself at every boot.');
    const roleName = variableOf(
      this,
      { ...S.roleName, variable: 'role_name' },
      "Name (not the ARN) of the IAM role of the host's instance profile; the route-claim policy is attached to it.",
    );
    const tags = variableOf(
      this,
      S.tags,
      'Tags for the policy and the security group: at most 50 counting the Name tag added to each, no aws: keys.',
    );

    const nat = new ExistingInstanceNat(this, 'nat', {
      name: name.stringValue,
      privateCidrs: privateCidrs.listValue,
      allowAnyClientSource: allowAnyClientSource.booleanValue as unknown as boolean,
      routeTableIds: routeTableIds.listValue,
      roleName: roleName.stringValue,
      vpcId: vpcId.stringValue,
      tags: Token.asStringMap(tags.value),
    });
    const userDataLocal = nat.node.findChild('user_data') as TerraformLocal;
    // Across two variables, so a precondition rather than a validation block: nothing is created when it fails.
    nat.routeClaimPolicy.policy.addOverride('lifecycle.precondition', [
      {
        condition: `\${${anySourceCondition('var.private_cidrs', 'var.allow_any_client_source')}}`,
        error_message: anySourceMessage('private_cidrs', {
          prop: 'allowAnyClientSource',
          variable: 'allow_any_client_source',
          reach: 'every port of the host and its forwarding',
        }),
      },
    ]);

    const output = (outputName: string, value: unknown, description: string) =>
      new TerraformOutput(this, outputName, { value, description });
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
    output(
      'route_claim_policy_arn',
      nat.routeClaimPolicy.policyArn,
      'The policy that lets the host create or replace routes in route_table_ids only.',
    );
    output(
      'security_group_id',
      nat.securityGroupId,
      "Security group admitting all traffic from private_cidrs: add it to the host's vpc_security_group_ids.",
    );
    output(
      'instance_requirements',
      {
        source_dest_check: EXISTING_INSTANCE_REQUIREMENTS.sourceDestCheck,
        associate_public_ip_address: EXISTING_INSTANCE_REQUIREMENTS.associatePublicIpAddress,
      },
      'What the host itself must have: source/destination check off, and a public IPv4 address (or an Elastic IP) in a public subnet.',
    );
  }
}
