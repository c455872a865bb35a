/**
 * The existing-instance design as a plain Terraform module (stack `existing-instance-nat-module`,
 * committed as terraform/modules/existing-instance-nat): no provider or backend, the route-claim
 * policy scoped to the route-table variable, the security group for the private CIDRs, the user
 * data in three forms and the host's requirements as outputs, and variables that Terraform
 * validates at plan.
 */
import { App } from 'cdktf';
import { EXISTING_INSTANCE_REQUIREMENTS, readBootScript } from '../../modules/nat';
import { escapeForTerraform } from '../../modules/shared/terraform-expressions';
import { ExistingInstanceNatModuleStack } from '../../stacks/existing-instance-nat-module';
import { AWS_PROVIDER_CONSTRAINT, TERRAFORM_VERSION_CONSTRAINT } from '../../stacks/supported-versions';
import { synthesizeStack } from './support/synth';
import { expectRefusal, variablePlanner } from './support/variable-validation';

const synthesized = synthesizeStack(new ExistingInstanceNatModuleStack(new App(), 'existing-instance-nat-module'));
const json = synthesized.json;

describe('existing-instance-nat-module as a plain Terraform module', () => {
  test('THEN it has no provider block and no backend, and requires the tested provider and Terraform versions', () => {
    expect(json.provider).toBeUndefined();
    expect(json.terraform.backend).toBeUndefined();
    expect(json.terraform.required_providers.aws).toEqual({ source: 'hashicorp/aws', version: AWS_PROVIDER_CONSTRAINT });
    expect(json.terraform.required_version).toBe(TERRAFORM_VERSION_CONSTRAINT);
  });

  test('THEN it creates only the route-claim policy, its attachment to role_name and the security group: no instance, no route', () => {
    expect(Object.keys(json.resource).sort()).toEqual(['aws_iam_policy', 'aws_iam_role_policy_attachment', 'aws_security_group']);
    expect(synthesized.only('aws_iam_role_policy_attachment').block.role).toBe('${var.role_name}');
  });

  test('THEN the policy allows route writes only on the ARNs of route_table_ids', () => {
    const policy = synthesized.only('aws_iam_policy').block.policy as string;
    expect(policy).toContain('"Action" = ["ec2:CreateRoute", "ec2:ReplaceRoute"]');
    expect(policy).toMatch(
      /"Resource" = formatlist\("arn:%s:ec2:%s:%s:route-table\/%s", data\.aws_partition\.[\w-]+\.partition, data\.aws_region\.[\w-]+\.id, data\.aws_caller_identity\.[\w-]+\.account_id, var\.route_table_ids\)/,
    );
  });

  test('THEN the security group admits every protocol from private_cidrs only', () => {
    const group = synthesized.only('aws_security_group').block;
    expect(group.ingress).toEqual([expect.objectContaining({ protocol: '-1', cidr_blocks: '${var.private_cidrs}' })]);
    expect(group.vpc_id).toBe('${var.vpc_id}');
  });

  test('THEN the user data is one readable local, shipped compressed, and its write_files entries carry the boot script', () => {
    const [[localName, userData]] = Object.entries(json.locals as Record<string, string>);
    expect(json.output.user_data.value).toBe(`\${local.${localName}}`);
    expect(json.output.user_data_base64.value).toBe(`\${base64gzip(local.${localName})}`);
    expect(userData).toContain('NAT_ROUTE_MODE=self-claim');
    expect(userData).toContain('NAT_PRIVATE_CIDRS=${join(",", var.private_cidrs)}');
    expect(userData).toContain('NAT_ROUTE_TABLE_IDS=${join(",", var.route_table_ids)}');
    expect(userData.endsWith(`write_files:\n${json.output.write_files.value}\n`)).toBe(true);
    // The whole script, escaped for Terraform and indented into the YAML block (empty lines stay empty).
    const indented = escapeForTerraform(readBootScript())
      .split('\n')
      .map((line) => (line ? `      ${line}` : line))
      .join('\n');
    expect(json.output.write_files.value).toContain(indented.trimEnd());
  });

  test('THEN the host requirements are an output equal to the construct constant', () => {
    expect(json.output.instance_requirements.value).toEqual({
      source_dest_check: EXISTING_INSTANCE_REQUIREMENTS.sourceDestCheck,
      associate_public_ip_address: EXISTING_INSTANCE_REQUIREMENTS.associatePublicIpAddress,
    });
  });

  test('THEN every variable is used outside its own declaration', () => {
    const { variable, ...body } = json;
    const text = JSON.stringify(body);
    expect(Object.keys(variable).filter((name) => !new RegExp(`var\\.${name}\\b`).test(text))).toEqual([]);
  });
});

describe('existing-instance-nat-module variable validation, run by terraform itself', () => {
  const planner = variablePlanner(json.variable);
  afterAll(() => planner.remove());
  const valid = { vpc_id: 'vpc-0abc', private_cidrs: '["10.0.1.0/24"]', route_table_ids: '["rtb-0b2"]', role_name: 'web-host' };

  test('GIVEN valid inputs THEN terraform accepts them', () => {
    expect(planner.plan(valid)).toEqual({ ok: true, output: expect.stringContaining('No changes') });
  });

  test.each([
    ['vpc_id', { vpc_id: 'vpc_1' }, 'vpc_id must be a VPC ID'],
    ['private_cidrs (empty)', { private_cidrs: '[]' }, 'private_cidrs must hold at least one entry'],
    ['private_cidrs (IPv6)', { private_cidrs: '["2001:db8::/64"]' }, 'private_cidrs: every entry must be an IPv4 CIDR block'],
    ['private_cidrs (host bits)', { private_cidrs: '["10.0.1.1/24"]' }, 'private_cidrs: every entry must be an IPv4 CIDR block'],
    ['route_table_ids', { route_table_ids: '["subnet-0"]' }, 'route_table_ids: every entry must be a route-table ID'],
    ['route_table_ids (twice)', { route_table_ids: '["rtb-0b2", "rtb-0b2"]' }, 'route_table_ids may list each entry only once'],
    ['role_name (an ARN)', { role_name: 'arn:aws:iam::123456789012:role/web' }, 'role_name must be an IAM role name'],
    ['name', { name: 'sg-web' }, 'name must not start with sg-'],
    ['tags', { tags: '{"aws:owner" = "me"}' }, 'tags: every key must not start with aws:'],
  ])('GIVEN a bad %s THEN terraform refuses it with the variable message', (_name, override, message) => {
    expectRefusal(planner.plan({ ...valid, ...override }), message);
  });
});
