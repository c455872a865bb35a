/**
 * GIVEN the committed Terraform modules and their HCL examples (terraform/modules/<module>/examples/<example>),
 *   each calling its module by the committed relative path
 * WHEN the real Terraform CLI formats, initializes and validates every example with the real AWS provider,
 *   and applies the existing-instance and self-healing examples against the emulated AWS API
 * THEN every example is valid as committed; the web host receives the NAT's cloud-config (boot
 *   script byte for byte), its security group and the route-claim policy scoped to the private route
 *   table; the self-healing NAT is a launch template and an Auto Scaling group of one that tries its
 *   instance types in order (read back from the Auto Scaling API), with an Elastic IP that Terraform
 *   does not associate, and destroy leaves nothing.
 */
import { execFileSync } from 'child_process';
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { gunzipSync } from 'zlib';
import { parse } from 'yaml';
import { TERRAFORM_MODULES, TERRAFORM_MODULES_DIR } from '../../scripts/build/terraform-modules';
import { MOTO_ACCOUNT_ID, MOTO_REGION, MotoServer, startMoto } from '../support/moto';
import { emulatorProviderSettings, TESTED_AWS_PROVIDER, TerraformWorkspace } from '../support/terraform';

jest.setTimeout(600_000);

const examples = TERRAFORM_MODULES.flatMap((module) =>
  readdirSync(join(TERRAFORM_MODULES_DIR, module.name, 'examples')).map((example) => ({ module: module.name, example })),
);
const workspaces: TerraformWorkspace[] = [];
afterAll(() => workspaces.forEach((workspace) => workspace.remove()));

/** The module directory copied into a workspace as committed; the example is run in place (`-chdir`), so `source = "../.."` resolves. */
function exampleWorkspace(module: string, example: string): { workspace: TerraformWorkspace; chdir: string } {
  const workspace = new TerraformWorkspace(`${module}-${example}`).copyFrom(join(TERRAFORM_MODULES_DIR, module), module);
  workspaces.push(workspace);
  return { workspace, chdir: `-chdir=${module}/examples/${example}` };
}

test('GIVEN the examples THEN there is one per design the modules document', () => {
  expect(examples.map(({ module, example }) => `${module}/${example}`)).toEqual(
    expect.arrayContaining([
      'nat-instance/single',
      'nat-instance/dual-eip',
      'nat-instance/port-forward',
      'nat-instance-self-healing/single',
      'existing-instance-nat/existing-instance',
    ]),
  );
});

test('GIVEN the examples WHEN terraform fmt -check runs THEN they are formatted as Terraform formats them', () => {
  const workspace = new TerraformWorkspace('examples-fmt');
  workspaces.push(workspace);
  for (const module of TERRAFORM_MODULES) workspace.copyFrom(join(TERRAFORM_MODULES_DIR, module.name, 'examples'), module.name);
  const result = workspace.run(['fmt', '-check', '-recursive', '-diff'], { check: false });
  expect({ code: result.code, diff: result.stdout }).toEqual({ code: 0, diff: '' });
});

test.each(examples)(
  `GIVEN example $module/$example WHEN terraform init and validate run with hashicorp/aws ${TESTED_AWS_PROVIDER} THEN it is valid`,
  ({ module, example }) => {
    const { workspace, chdir } = exampleWorkspace(module, example);
    const init = workspace.run([chdir, 'init', '-input=false', '-no-color']);
    expect(init.stdout).toContain(`Installed hashicorp/aws v${TESTED_AWS_PROVIDER}`);
    const validate = workspace.run([chdir, 'validate', '-json'], { check: false });
    const result = JSON.parse(validate.stdout) as {
      valid: boolean;
      diagnostics: Array<{ severity: string; summary: string; detail: string }>;
    };
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(result.valid).toBe(true);
  },
);

describe('the existing-instance and self-healing examples against the emulated AWS API', () => {
  let moto: MotoServer;
  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(async () => {
    await moto?.stop();
  });

  test('GIVEN terraform apply THEN the web host gets the NAT cloud-config, source/dest check off, the NAT security group and the scoped route-claim policy', () => {
    const { workspace, chdir } = exampleWorkspace('existing-instance-nat', 'existing-instance');
    const dir = 'existing-instance-nat/examples/existing-instance';
    // Only the provider's endpoints and credentials change; the probe outputs read module outputs the example does not print.
    workspace.write(`${dir}/emulator_override.tf.json`, { provider: { aws: [emulatorProviderSettings(moto.endpoint)] } });
    workspace.write(`${dir}/test_probe.tf.json`, {
      output: { probe_user_data: { value: '${module.nat.user_data}' }, probe_write_files: { value: '${module.nat.write_files}' } },
    });
    workspace.run([chdir, 'init', '-input=false', '-no-color']);
    workspace.run([chdir, 'apply', '-auto-approve', '-input=false', '-no-color']);
    const outputs = JSON.parse(workspace.run([chdir, 'output', '-json']).stdout) as Record<string, { value: any }>;
    const state = JSON.parse(workspace.run([chdir, 'show', '-json']).stdout) as { values: { root_module: StateModule } };
    const resources = allResources(state.values.root_module);
    const one = (address: string) => {
      const found = resources.find((resource) => resource.address === address);
      if (!found) throw new Error(`no ${address} in the state: ${resources.map((resource) => resource.address).join(', ')}`);
      return found.values;
    };
    const privateTable = one('aws_route_table.private').id as string;
    const web = one('aws_instance.web');

    // What EC2 holds for the host: the readable cloud-config, compressed by Terraform.
    const attribute = execFileSync(
      'aws',
      [
        'ec2',
        'describe-instance-attribute',
        '--instance-id',
        web.id,
        '--attribute',
        'userData',
        '--endpoint-url',
        moto.endpoint,
        '--output',
        'json',
      ],
      { encoding: 'utf8', env: { ...process.env, ...moto.clientEnv } },
    );
    const sent = gunzipSync(Buffer.from((JSON.parse(attribute) as { UserData: { Value: string } }).UserData.Value, 'base64')).toString(
      'utf8',
    );
    expect(sent).toBe(outputs.probe_user_data.value);
    const cloudConfig = parse(sent) as { write_files: Array<{ path: string; content: string; permissions: string }> };
    expect(sent.startsWith('#cloud-config\n')).toBe(true);
    const [settings, script] = cloudConfig.write_files;
    expect(script.content).toBe(readFileSync(join(__dirname, '../../modules/nat/boot/nat-instance.sh'), 'utf8'));
    expect(script.permissions).toBe('0755');
    expect(settings.content.split('\n')).toEqual(
      expect.arrayContaining([
        'NAT_MODE=single',
        'NAT_PRIVATE_CIDRS=10.0.1.0/24',
        'NAT_ROUTE_MODE=self-claim',
        `NAT_ROUTE_TABLE_IDS=${privateTable}`,
      ]),
    );
    // The write_files output is the same entries, for a host with a cloud-config of its own.
    expect((parse(`write_files:\n${outputs.probe_write_files.value}`) as typeof cloudConfig).write_files).toEqual(cloudConfig.write_files);

    expect(web.source_dest_check).toBe(false);
    expect(web.associate_public_ip_address).toBe(true);
    const natGroup = one('module.nat.aws_security_group.nat_sg_972B6B4A');
    expect(web.vpc_security_group_ids).toEqual([natGroup.id]);
    expect(natGroup.ingress).toEqual([expect.objectContaining({ protocol: '-1', cidr_blocks: ['10.0.1.0/24'] })]);

    const policy = resources.find((resource) => resource.type === 'aws_iam_policy')!.values;
    expect(outputs.route_claim_policy_arn.value).toBe(`arn:aws:iam::${MOTO_ACCOUNT_ID}:policy/web-host-route-claim`);
    const statements = (JSON.parse(policy.policy as string) as { Statement: Array<{ Sid: string; Action: string[]; Resource: unknown }> })
      .Statement;
    expect(statements.find((statement) => statement.Sid === 'ClaimDefaultRoute')).toMatchObject({
      Action: ['ec2:CreateRoute', 'ec2:ReplaceRoute'],
      Resource: [`arn:aws:ec2:${MOTO_REGION}:${MOTO_ACCOUNT_ID}:route-table/${privateTable}`],
    });
    const attachment = resources.find((resource) => resource.type === 'aws_iam_role_policy_attachment')!.values;
    expect(attachment).toMatchObject({ role: 'web-host', policy_arn: outputs.route_claim_policy_arn.value });

    workspace.run([chdir, 'destroy', '-auto-approve', '-input=false', '-no-color']);
  });

  test('GIVEN the self-healing example WHEN applied THEN a group of one launches the NAT from a template, trying t4g.nano then t4g.micro, with an Elastic IP the instance associates itself; destroy leaves nothing', () => {
    const { workspace, chdir } = exampleWorkspace('nat-instance-self-healing', 'single');
    workspace.write('nat-instance-self-healing/examples/single/emulator_override.tf.json', {
      provider: { aws: [emulatorProviderSettings(moto.endpoint)] },
    });
    workspace.run([chdir, 'init', '-input=false', '-no-color']);
    workspace.run([chdir, 'apply', '-auto-approve', '-input=false', '-no-color']);
    const outputs = JSON.parse(workspace.run([chdir, 'output', '-json']).stdout) as Record<string, { value: any }>;
    const show = () => JSON.parse(workspace.run([chdir, 'show', '-json']).stdout) as { values?: { root_module: StateModule } };
    const resources = allResources(show().values!.root_module);
    const ofType = (type: string) => resources.filter((resource) => resource.type === type).map((resource) => resource.values);
    expect(ofType('aws_instance')).toEqual([]);
    expect(ofType('aws_route').filter((route) => route.network_interface_id)).toEqual([]);
    const [template] = ofType('aws_launch_template');
    expect(template).toMatchObject({ instance_type: 't4g.nano', metadata_options: [expect.objectContaining({ http_tokens: 'required' })] });
    const [eip] = ofType('aws_eip');
    expect(outputs.nat_public_ip.value).toBe(eip.public_ip);
    expect(ofType('aws_eip_association')).toEqual([]);
    expect(
      ofType('aws_iam_policy')
        .map((policy) => policy.name)
        .sort(),
    ).toEqual(['nat-self-healing-metrics', 'nat-self-healing-route-claim', 'nat-self-healing-self-healing']);

    // The group as the Auto Scaling API describes it, independently of Terraform's state.
    const described = JSON.parse(
      execFileSync(
        'aws',
        [
          'autoscaling',
          'describe-auto-scaling-groups',
          '--auto-scaling-group-names',
          outputs.nat_autoscaling_group_name.value,
          '--endpoint-url',
          moto.endpoint,
          '--output',
          'json',
        ],
        { encoding: 'utf8', env: { ...process.env, ...moto.clientEnv } },
      ),
    ) as { AutoScalingGroups: any[] };
    expect(described.AutoScalingGroups).toHaveLength(1);
    const [group] = described.AutoScalingGroups;
    expect(group).toMatchObject({ MinSize: 1, MaxSize: 1, DesiredCapacity: 1 });
    expect(group.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateId).toBe(template.id);
    expect(group.MixedInstancesPolicy.LaunchTemplate.Overrides.map((override: { InstanceType: string }) => override.InstanceType)).toEqual([
      't4g.nano',
      't4g.micro',
    ]);
    // spot = false (the default): everything on demand, the first type with capacity first.
    expect(group.MixedInstancesPolicy.InstancesDistribution).toMatchObject({
      OnDemandAllocationStrategy: 'prioritized',
      OnDemandPercentageAboveBaseCapacity: 100,
    });
    expect(group.Instances.map((instance: { LifecycleState: string }) => instance.LifecycleState)).toEqual(['InService']);

    workspace.run([chdir, 'destroy', '-auto-approve', '-input=false', '-no-color']);
    expect(allResources(show().values?.root_module ?? {})).toEqual([]);
  });
});

describe('existing-instance-nat refuses at plan what the construct refuses at synth', () => {
  let moto: MotoServer;
  let workspace: TerraformWorkspace;
  beforeAll(async () => {
    moto = await startMoto();
    workspace = new TerraformWorkspace('existing-instance-plan').copyFrom(
      join(TERRAFORM_MODULES_DIR, 'existing-instance-nat'),
      'existing-instance-nat',
    );
    workspaces.push(workspace);
    workspace.write('emulator_override.tf.json', { provider: { aws: [emulatorProviderSettings(moto.endpoint)] } });
    workspace.write('main.tf.json', {
      variable: { private_cidrs: { type: 'list(string)' }, allow_any_client_source: { type: 'bool' } },
      provider: { aws: [{ region: MOTO_REGION }] },
      module: {
        nat: {
          source: './existing-instance-nat',
          vpc_id: 'vpc-0abc',
          private_cidrs: '${var.private_cidrs}',
          allow_any_client_source: '${var.allow_any_client_source}',
          route_table_ids: ['rtb-0b2'],
          role_name: 'web-host',
        },
      },
    });
    workspace.init();
  });
  afterAll(async () => {
    await moto?.stop();
  });

  const plan = (privateCidrs: string[], allowAny: boolean) =>
    workspace.run(
      [
        'plan',
        '-input=false',
        '-no-color',
        '-var',
        `private_cidrs=${JSON.stringify(privateCidrs)}`,
        '-var',
        `allow_any_client_source=${allowAny}`,
      ],
      {
        check: false,
      },
    );

  test('GIVEN private_cidrs covering the internet in two halves WHEN planned without the opt-in THEN the plan fails naming the variable and its opt-in', () => {
    const result = plan(['0.0.0.0/1', '128.0.0.0/1'], false);
    const output = `${result.stdout}${result.stderr}`.replace(/[\s│]+/g, ' ');
    expect(result.code).not.toBe(0);
    expect(output).toContain('Resource precondition failed');
    expect(output).toContain('private_cidrs covers 2^25 addresses or more');
    expect(output).toContain('set allow_any_client_source = true');
  });

  test('GIVEN the same CIDRs with allow_any_client_source = true, or private subnets alone, THEN the plan succeeds (controls)', () => {
    expect(plan(['0.0.0.0/1', '128.0.0.0/1'], true)).toMatchObject({ code: 0 });
    expect(plan(['10.0.1.0/24', '10.0.2.0/24'], false)).toMatchObject({ code: 0 });
  });
});

interface StateResource {
  readonly address: string;
  readonly type: string;
  readonly values: Record<string, any>;
}

interface StateModule {
  readonly resources?: StateResource[];
  readonly child_modules?: StateModule[];
}

function allResources(module: StateModule): StateResource[] {
  return [...(module.resources ?? []), ...(module.child_modules ?? []).flatMap(allResources)];
}
