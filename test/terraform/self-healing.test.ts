/**
 * GIVEN a VPC and a self-healing NatInstance (single and dual mode), synthesized as `cdktf synth` does
 * WHEN the real Terraform CLI with the real AWS provider applies it against the emulated AWS API (moto)
 * THEN the launch template, the Auto Scaling group of one, the Elastic IP, the static forwarding
 *   interface and the instance's IAM exist as synthesized; a settings change plans a new template
 *   version that the group rolls out (an update of both, nothing destroyed); fallback instance types
 *   on Spot apply as a mixed instances policy; destroy removes everything.
 */
import { App, TerraformStack } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Network } from '../../modules/vpc';
import { requireSupportedVersions } from '../../stacks/supported-versions';
import { NatGroup, natGroupMembersByZone, NatInstance, NatInstanceProps } from '../../modules/nat';
import { MOTO_REGION, MotoServer, startMoto } from '../support/moto';
import { emulatorProviderSettings, StateResource, TerraformWorkspace } from '../support/terraform';
import { awsCli } from '../support/aws-cli';

jest.setTimeout(600_000);

let moto: MotoServer;
const workspaces: TerraformWorkspace[] = [];

beforeAll(async () => {
  moto = await startMoto();
});
// A failed test may leave resources behind: the next one starts from an empty emulator.
afterEach(async () => moto?.reset());
afterAll(async () => {
  workspaces.forEach((workspace) => workspace.remove());
  await moto?.stop();
});

/** Synthesizes a stack holding the VPC and one self-healing NAT; returns the stack's output directory. */
function synthesizeSelfHealing(props: Partial<NatInstanceProps>): string {
  const outdir = mkdtempSync(join(tmpdir(), 'nat-self-healing-'));
  const app = new App({ outdir });
  const stack = new TerraformStack(app, 'self-healing');
  new AwsProvider(stack, 'aws', { region: MOTO_REGION });
  requireSupportedVersions(stack);
  const network = new Network(stack, 'network', {
    name: 'healing',
    cidr: '10.8.0.0/16',
    azs: [`${MOTO_REGION}a`, `${MOTO_REGION}b`],
    publicSubnets: ['10.8.0.0/24'],
    privateSubnets: ['10.8.1.0/24', '10.8.2.0/24'],
    privateRouteTables: 'per-az',
  });
  new NatInstance(stack, 'nat', {
    name: 'healing-nat',
    vpcId: network.vpcId,
    publicSubnet: network.publicSubnets[0],
    privateSubnets: network.privateSubnets,
    routeTableIds: network.privateRouteTableIds,
    selfHealing: true,
    ...props,
  });
  app.synth();
  return join(outdir, 'stacks', 'self-healing');
}

/** A stack holding a VPC with a public subnet per zone and a NatGroup of one self-healing NAT per zone. */
function synthesizeGroup(): string {
  const outdir = mkdtempSync(join(tmpdir(), 'nat-group-'));
  const app = new App({ outdir });
  const stack = new TerraformStack(app, 'nat-group');
  new AwsProvider(stack, 'aws', { region: MOTO_REGION });
  requireSupportedVersions(stack);
  const network = new Network(stack, 'network', {
    name: 'group',
    cidr: '10.8.0.0/16',
    azs: [`${MOTO_REGION}a`, `${MOTO_REGION}b`],
    publicSubnets: ['10.8.0.0/24', '10.8.4.0/24'],
    privateSubnets: ['10.8.1.0/24', '10.8.2.0/24'],
    privateRouteTables: 'per-az',
  });
  new NatGroup(stack, 'nat', {
    name: 'edge',
    vpcId: network.vpcId,
    privateSubnets: network.privateSubnets,
    members: natGroupMembersByZone(network),
  });
  app.synth();
  return join(outdir, 'stacks', 'nat-group');
}

function workspaceFor(directory: string, label: string): TerraformWorkspace {
  // A workspace for the stack's directory; later copies of a re-synthesized stack overwrite its JSON.
  const workspace = new TerraformWorkspace(label).copyFrom(directory);
  // The emulator's endpoint, and the state inside the workspace (the synthesized backend path is absolute).
  workspace.write('emulator_override.tf.json', {
    provider: { aws: [emulatorProviderSettings(moto.endpoint)] },
    terraform: { backend: { local: { path: 'terraform.tfstate' } } },
  });
  workspaces.push(workspace);
  return workspace;
}

const byType = (resources: StateResource[], type: string) =>
  resources.filter((resource) => resource.mode === 'managed' && resource.type === type);

describe.each(['single', 'dual'] as const)('a self-healing NAT in %s mode', (mode) => {
  it('applies (template, group of one, Elastic IP, IAM), rolls a settings change out as a new template version, and destroys', () => {
    const workspace = workspaceFor(synthesizeSelfHealing({ mode }), `self-healing-${mode}`);
    workspace.init();
    workspace.run(['apply', '-auto-approve', '-input=false', '-no-color']);

    const resources = workspace.resources();
    const [template] = byType(resources, 'aws_launch_template');
    const [group] = byType(resources, 'aws_autoscaling_group');
    expect(byType(resources, 'aws_instance')).toEqual([]);
    expect(template.values).toMatchObject({ latest_version: 1, metadata_options: [expect.objectContaining({ http_tokens: 'required' })] });
    expect(group.values).toMatchObject({ min_size: 1, max_size: 1, desired_capacity: 1 });
    expect(group.values.launch_template).toEqual([expect.objectContaining({ id: template.values.id, version: '1' })]);
    const [eip] = byType(resources, 'aws_eip');
    expect(eip.values.allocation_id).toMatch(/^eipalloc-/);
    expect(
      byType(resources, 'aws_iam_policy')
        .map((policy) => policy.values.name)
        .sort(),
    ).toEqual(['healing-nat-metrics', 'healing-nat-route-claim', 'healing-nat-self-healing']);
    expect(byType(resources, 'aws_route').filter((route) => route.values.network_interface_id)).toEqual([]);
    const interfaces = byType(resources, 'aws_network_interface');
    if (mode === 'dual') {
      expect(interfaces).toHaveLength(1);
      expect(interfaces[0].values).toMatchObject({ source_dest_check: false });
    } else {
      expect(interfaces).toEqual([]);
    }

    // A settings change: new user data, so a new template version, which the group rolls out.
    workspace.copyFrom(synthesizeSelfHealing({ mode, conntrackMax: 131072 }));
    workspace.run(['plan', '-input=false', '-no-color', '-out=change.plan']);
    const plan = JSON.parse(workspace.run(['show', '-json', 'change.plan']).stdout) as {
      resource_changes: Array<{ type: string; change: { actions: string[]; after_unknown?: Record<string, unknown> } }>;
    };
    const actions = Object.fromEntries(
      plan.resource_changes
        .filter((change) => change.change.actions.join() !== 'no-op')
        .map((change) => [change.type, change.change.actions]),
    );
    expect(actions).toEqual({ aws_launch_template: ['update'], aws_autoscaling_group: ['update'] });

    workspace.run(['destroy', '-auto-approve', '-input=false', '-no-color']);
    expect(workspace.resources()).toEqual([]);
  });
});

test('a self-healing NAT with a fallback instance type on Spot applies as a mixed instances policy (read back from the Auto Scaling API) and destroys', () => {
  const workspace = workspaceFor(
    synthesizeSelfHealing({ instanceType: 't4g.nano', fallbackInstanceTypes: ['t4g.micro'], spot: true }),
    'self-healing-spot',
  );
  workspace.init();
  workspace.run(['apply', '-auto-approve', '-input=false', '-no-color']);

  const resources = workspace.resources();
  const [template] = byType(resources, 'aws_launch_template');
  const [group] = byType(resources, 'aws_autoscaling_group');
  expect(template.values.instance_type).toBe('t4g.nano');
  expect(group.values.launch_template).toEqual([]);
  const [policy] = group.values.mixed_instances_policy as Array<Record<string, any>>;
  expect(policy.launch_template[0].launch_template_specification).toEqual([
    expect.objectContaining({ launch_template_id: template.values.id, version: '1' }),
  ]);
  expect(policy.launch_template[0].override.map((override: { instance_type: string }) => override.instance_type)).toEqual([
    't4g.nano',
    't4g.micro',
  ]);
  expect(policy.instances_distribution).toEqual([
    expect.objectContaining({
      on_demand_allocation_strategy: 'prioritized',
      on_demand_base_capacity: 0,
      on_demand_percentage_above_base_capacity: 0,
      spot_allocation_strategy: 'capacity-optimized-prioritized',
    }),
  ]);
  // The group as the Auto Scaling API describes it, independently of Terraform's state.
  const [described] = awsCli<{ AutoScalingGroups: any[] }>(moto.clientEnv, [
    'autoscaling',
    'describe-auto-scaling-groups',
    '--auto-scaling-group-names',
    group.values.name as string,
  ]).AutoScalingGroups;
  expect(described.LaunchTemplate).toBeUndefined();
  expect(
    described.MixedInstancesPolicy.LaunchTemplate.Overrides.map((override: { InstanceType: string }) => override.InstanceType),
  ).toEqual(['t4g.nano', 't4g.micro']);
  expect(described.MixedInstancesPolicy.InstancesDistribution).toMatchObject({
    OnDemandAllocationStrategy: 'prioritized',
    OnDemandBaseCapacity: 0,
    OnDemandPercentageAboveBaseCapacity: 0,
    SpotAllocationStrategy: 'capacity-optimized-prioritized',
  });
  // One instance, of a listed type (which one is EC2's choice among the Spot pools).
  expect(described.Instances.map((instance: { InstanceType: string; LifecycleState: string }) => instance.LifecycleState)).toEqual([
    'InService',
  ]);
  expect(['t4g.nano', 't4g.micro']).toContain(described.Instances[0].InstanceType);

  workspace.run(['destroy', '-auto-approve', '-input=false', '-no-color']);
  expect(workspace.resources()).toEqual([]);
});

// Applied only, to keep the suite short: the nat-example group variant's test
// (nat-example-group.test.ts) destroys a group, and a single group destroys above.
test('a NatGroup applies (a template and a group of one per zone, heartbeat parameters, agent policies)', () => {
  const workspace = workspaceFor(synthesizeGroup(), 'nat-group');
  workspace.init();
  workspace.run(['apply', '-auto-approve', '-input=false', '-no-color']);
  const resources = workspace.resources();
  expect(byType(resources, 'aws_autoscaling_group').map((group) => group.values.max_size)).toEqual([1, 1]);
  expect(byType(resources, 'aws_launch_template')).toHaveLength(2);
  expect(byType(resources, 'aws_eip')).toHaveLength(2);
  expect(
    byType(resources, 'aws_ssm_parameter')
      .map((parameter) => [parameter.values.name, parameter.values.value])
      .sort(),
  ).toEqual([
    ['/nat-instance/edge/a/heartbeat', 'starting - - 0'],
    ['/nat-instance/edge/b/heartbeat', 'starting - - 0'],
  ]);
  const policies = byType(resources, 'aws_iam_policy').map((policy) => policy.values.name as string);
  expect(policies.sort()).toEqual([
    'edge-a-agent',
    'edge-a-metrics',
    'edge-a-route-claim',
    'edge-a-self-healing',
    'edge-b-agent',
    'edge-b-metrics',
    'edge-b-route-claim',
    'edge-b-self-healing',
  ]);
  const agentA = JSON.parse(
    byType(resources, 'aws_iam_policy').find((policy) => policy.values.name === 'edge-a-agent')!.values.policy as string,
  );
  const tables = byType(resources, 'aws_route_table').map((table) => table.values.id as string);
  const routeStatement = agentA.Statement.find((statement: { Sid: string }) => statement.Sid === 'TakeGroupRouteTables');
  // Both private tables (the public one is not the group's): a member may take any of them.
  expect(routeStatement.Resource).toHaveLength(2);
  for (const arn of routeStatement.Resource as string[]) expect(tables).toContain(arn.split('/').pop());
});
