/**
 * GIVEN nat-example with NAT_EXAMPLE_NAT=group (a NatGroup of one self-healing NAT per zone), as
 * `cdktf synth` writes it, byte for byte, plus override files (the emulator's endpoint and test
 * credentials, and the emulator work-arounds named in ./emulator-workarounds.ts)
 * WHEN the real Terraform CLI with the real AWS provider inits, validates, plans and applies it
 * against the emulated AWS API (moto)
 * THEN what the emulator holds, read back with the real AWS CLI, is one Auto Scaling group of one
 * NAT per zone, launched in that zone's public subnet from its own launch template, with its own
 * Elastic IP (the `public-ips` output, by zone) and forwarding interface, left for the NAT to claim
 * at boot (Terraform associates no address and writes no route towards a NAT); the heartbeat
 * parameters and agent policies exist; a second plan finds nothing to change but the emulator's
 * read-back differences; destroy leaves nothing behind.
 *
 * The emulator runs no user data: what the boot script and the health agent do is the lab's
 * (test/lab), not this suite's. The steps share one deployment and run in order.
 */
import { awsCli } from '../support/aws-cli';
import { MotoServer, startMoto } from '../support/moto';
import { TerraformWorkspace } from '../support/terraform';
import {
  added,
  applySavedPlan,
  destroy,
  inventory,
  Inventory,
  leftovers,
  NETWORK_AND_IAM_KINDS,
  planDrift,
  plannedChanges,
  SELF_HEALING_KINDS,
  stackWorkspace,
  tearDown,
} from './emulated-deployment';
import {
  isEmulatorInstanceDrift,
  isEmulatorLaunchTemplateReadBack,
  LAUNCH_TEMPLATE_EMULATOR_TAG_SPECIFICATION,
} from './emulator-workarounds';
import { firstDeploymentSteps } from './first-deployment-steps';
import { synthesizeStacks } from './synthesized-stacks';
import { MOTO_REGION } from '../support/moto';

jest.setTimeout(600_000);

const STACK = 'nat-example';
const ZONES = [`${MOTO_REGION}a`, `${MOTO_REGION}b`];
const PUBLIC_CIDR_BY_ZONE: Record<string, string> = { [ZONES[0]]: '10.8.0.0/24', [ZONES[1]]: '10.8.4.0/24' };
/** Dual mode: each NAT forwards from the first private subnet of its zone (zone a holds 10.8.1.0/24 and 10.8.3.0/24). */
const FORWARDING_CIDR_BY_ZONE: Record<string, string> = { [ZONES[0]]: '10.8.1.0/24', [ZONES[1]]: '10.8.2.0/24' };
const KINDS = [...NETWORK_AND_IAM_KINDS, ...SELF_HEALING_KINDS];

const stacks = synthesizeStacks({ example: { nat: 'group' } });
const json = stacks.json(STACK);
let moto: MotoServer;
let workspace: TerraformWorkspace;
let workarounds: string[];
let before: Inventory;
let destroyed = false;

beforeAll(async () => {
  moto = await startMoto();
  ({ workspace, workarounds } = stackWorkspace(`${STACK}-group`, stacks.directory(STACK), json, moto));
  before = inventory(moto, KINDS);
});

afterAll(() => tearDown({ workspace, destroyed, moto }));

const ec2 = <T = any>(...args: string[]): T => awsCli<T>(moto.clientEnv, ['ec2', ...args]);

test('the synthesized variant is the group: two launch templates and Auto Scaling groups, no NAT instance', () => {
  expect(Object.keys(json.resource.aws_launch_template)).toHaveLength(2);
  expect(Object.keys(json.resource.aws_autoscaling_group)).toHaveLength(2);
  expect(Object.keys(json.resource.aws_instance)).toHaveLength(3); // the private test instances
  expect(Object.keys(json.output).sort()).toEqual(['nat-auto-scaling-groups', 'public-ips', 'test-instances-ids']);
});

test('the only emulator work-around the group variant needs is the root volume size of the private test instances', () => {
  // The launch templates set their root volume size themselves.
  expect(workarounds).toEqual(['emulator_workaround_root_volume_size_override.tf.json']);
});

firstDeploymentSteps(() => ({ workspace, json }));

test('terraform apply of the saved plan succeeds, and a second plan finds nothing to change but the emulator’s read-back differences', () => {
  const apply = applySavedPlan(workspace);
  expect({ code: apply.code, stderr: apply.stderr }).toEqual({ code: 0, stderr: '' });
  expect(apply.stdout).toMatch(/Apply complete! Resources: \d+ added, 0 changed, 0 destroyed/);
  const drift = planDrift(workspace);
  // The launch templates' read-back is checked on the plan's values (before, after, unknown).
  const readBack = new Set(
    drift.length === 0
      ? []
      : plannedChanges(workspace, 'drift.tfplan')
          .filter(isEmulatorLaunchTemplateReadBack)
          .map((change) => change.address),
  );
  expect(drift.filter((d) => !isEmulatorInstanceDrift(d) && !readBack.has(d.address))).toEqual([]);
});

describe('read back through the emulated API', () => {
  let outputs: Record<string, any>;
  /** Each zone's Auto Scaling group, as the emulator describes it. */
  let groups: Record<string, any>;

  beforeAll(() => {
    outputs = workspace.outputs();
    const names = outputs['nat-auto-scaling-groups'] as Record<string, string>;
    groups = Object.fromEntries(
      Object.entries(names).map(([zone, name]) => [
        zone,
        awsCli(moto.clientEnv, ['autoscaling', 'describe-auto-scaling-groups', '--auto-scaling-group-names', name]).AutoScalingGroups[0],
      ]),
    );
  });

  test("each zone's Auto Scaling group keeps one NAT running in that zone's public subnet, launched from the group's template", () => {
    expect(Object.keys(groups).sort()).toEqual(ZONES);
    const templateIds = new Set<string>();
    for (const [zone, group] of Object.entries(groups)) {
      expect(group).toMatchObject({ MinSize: 1, MaxSize: 1, DesiredCapacity: 1 });
      expect(group.Instances).toHaveLength(1);
      const instance = ec2('describe-instances', '--instance-ids', group.Instances[0].InstanceId).Reservations[0].Instances[0];
      expect(instance.State.Name).toBe('running');
      const subnet = ec2('describe-subnets', '--subnet-ids', instance.SubnetId).Subnets[0];
      expect({ zone: subnet.AvailabilityZone, cidr: subnet.CidrBlock }).toEqual({ zone, cidr: PUBLIC_CIDR_BY_ZONE[zone] });
      // The launch template tags what it launches: the tag the NAT's IAM is scoped to.
      const letter = zone.slice(-1);
      expect(instance.Tags).toEqual(expect.arrayContaining([{ Key: 'nat-instance', Value: `nat-example-${letter}` }]));
      templateIds.add(group.Instances[0].LaunchTemplate.LaunchTemplateId);
    }
    expect(templateIds.size).toBe(2);
  });

  // The emulator does not apply a template's metadata options to the instances it launches: the template is read instead.
  test('the launch templates require IMDSv2 and encrypt the root volume, and hold the tag specifications asked for plus the emulator’s own', () => {
    for (const group of Object.values(groups)) {
      const version = ec2('describe-launch-template-versions', '--launch-template-id', group.Instances[0].LaunchTemplate.LaunchTemplateId)
        .LaunchTemplateVersions[0];
      expect(version.LaunchTemplateData.MetadataOptions).toMatchObject({ HttpTokens: 'required' });
      expect(version.LaunchTemplateData.BlockDeviceMappings[0].Ebs).toMatchObject({ Encrypted: true });
      // The emulator's entry is the read-back difference the second plan shows (emulator-workarounds.ts).
      expect(version.LaunchTemplateData.TagSpecifications.map((spec: any) => spec.ResourceType).sort()).toEqual(
        ['instance', 'network-interface', 'volume', LAUNCH_TEMPLATE_EMULATOR_TAG_SPECIFICATION].sort(),
      );
    }
  });

  test('the output public-ips names one Elastic IP per zone, which Terraform leaves unassociated: each NAT associates its own at boot', () => {
    const ips = outputs['public-ips'] as Record<string, string>;
    expect(Object.keys(ips).sort()).toEqual(ZONES);
    expect(new Set(Object.values(ips)).size).toBe(2);
    const addresses = ec2('describe-addresses', '--public-ips', ...Object.values(ips)).Addresses;
    expect(addresses).toHaveLength(2);
    for (const address of addresses) {
      expect(address.Domain).toBe('vpc');
      expect(address.AssociationId).toBeUndefined();
    }
  });

  test("each zone's static forwarding interface sits in a private subnet of its zone, source/destination check off, for the NAT to attach", () => {
    const interfaceIds = workspace
      .resources()
      .filter((resource) => resource.mode === 'managed' && resource.type === 'aws_network_interface')
      .map((resource) => resource.values.id as string);
    expect(interfaceIds).toHaveLength(2);
    const interfaces = ec2('describe-network-interfaces', '--network-interface-ids', ...interfaceIds).NetworkInterfaces;
    const placed = interfaces.map((nic: any) => {
      const subnet = ec2('describe-subnets', '--subnet-ids', nic.SubnetId).Subnets[0];
      expect(nic.SourceDestCheck).toBe(false);
      return [subnet.AvailabilityZone, subnet.CidrBlock];
    });
    expect(Object.fromEntries(placed)).toEqual(FORWARDING_CIDR_BY_ZONE);
  });

  test('no private route table has a default route yet: the NATs claim their zone’s tables at boot', () => {
    const vpcId = ec2('describe-subnets', '--filters', 'Name=cidr-block,Values=10.8.1.0/24').Subnets[0].VpcId;
    const privateSubnets = ec2(
      'describe-subnets',
      '--filters',
      `Name=vpc-id,Values=${vpcId}`,
      'Name=cidr-block,Values=10.8.1.0/24,10.8.2.0/24,10.8.3.0/24',
    ).Subnets;
    expect(privateSubnets).toHaveLength(3);
    const tables = ec2(
      'describe-route-tables',
      '--filters',
      `Name=association.subnet-id,Values=${privateSubnets.map((s: any) => s.SubnetId).join(',')}`,
    ).RouteTables;
    expect(tables).toHaveLength(2); // one per zone
    for (const table of tables) expect(table.Routes.filter((route: any) => route.DestinationCidrBlock === '0.0.0.0/0')).toEqual([]);
  });

  test('the heartbeat parameters say "starting", and each NAT’s role holds its agent and metrics policies', () => {
    const parameters = awsCli(moto.clientEnv, [
      'ssm',
      'get-parameters',
      '--names',
      '/nat-instance/nat-example/a/heartbeat',
      '/nat-instance/nat-example/b/heartbeat',
    ]).Parameters;
    expect(parameters.map((parameter: any) => [parameter.Name, parameter.Value]).sort()).toEqual([
      ['/nat-instance/nat-example/a/heartbeat', 'starting - - 0'],
      ['/nat-instance/nat-example/b/heartbeat', 'starting - - 0'],
    ]);
    for (const letter of ['a', 'b']) {
      const attached = awsCli(moto.clientEnv, [
        'iam',
        'list-attached-role-policies',
        '--role-name',
        `nat-example-${letter}`,
      ]).AttachedPolicies;
      expect(attached.map((policy: any) => policy.PolicyName).sort()).toEqual(
        [
          `nat-example-${letter}-agent`,
          `nat-example-${letter}-metrics`,
          `nat-example-${letter}-route-claim`,
          `nat-example-${letter}-self-healing`,
          'AmazonSSMManagedInstanceCore',
        ].sort(),
      );
    }
  });

  test('the three private test instances run without a public IP', () => {
    const testInstances = ec2('describe-instances', '--instance-ids', ...outputs['test-instances-ids']).Reservations.flatMap(
      (r: any) => r.Instances,
    );
    expect(testInstances.map((i: any) => i.State.Name)).toEqual(['running', 'running', 'running']);
    expect(testInstances.filter((i: any) => i.PublicIpAddress)).toEqual([]);
  });
});

describe('terraform destroy', () => {
  test('the apply created the network, both NATs’ groups, templates and parameters, and the roles (what destroy must remove)', () => {
    const created = added(before, inventory(moto, KINDS));
    expect(created).toMatchObject({
      vpcs: [expect.stringMatching(/^vpc-/)],
      'elastic IPs': [expect.stringMatching(/^eipalloc-/), expect.stringMatching(/^eipalloc-/)],
      'launch templates': [expect.stringMatching(/^lt-/), expect.stringMatching(/^lt-/)],
      'Auto Scaling groups': [expect.stringMatching(/^nat-example-a-/), expect.stringMatching(/^nat-example-b-/)],
      'SSM parameters': ['/nat-instance/nat-example/a/heartbeat', '/nat-instance/nat-example/b/heartbeat'],
      'IAM roles': ['nat-example-a', 'nat-example-b', 'nat-example-ssm'],
    });
    // Two NATs (launched by their groups) and three test instances.
    expect(created['instances not terminated']).toHaveLength(5);
  });

  test('destroy (both Auto Scaling groups included) removes everything: the state is empty and the emulator holds what it held before', () => {
    destroy(workspace);
    destroyed = true;
    expect(workspace.stateList()).toEqual([]);
    expect(leftovers(moto, before, KINDS)).toEqual({});
  });
});
