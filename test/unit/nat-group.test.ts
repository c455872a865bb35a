/**
 * NatGroup: one NAT per zone, each holding its zone's route tables, with a health agent on every
 * NAT. Synth assertions (members, agent files in the user data, heartbeat parameters), the props
 * refused at synth, and the agent's IAM evaluated by an IAM policy simulator (allowed on the
 * group's tables and own heartbeat; denied elsewhere, each denial with a control).
 */
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { parse } from 'yaml';
import {
  HEALTH_AGENT_PATH,
  HEALTH_AGENT_SETTINGS_PATH,
  HEALTH_AGENT_UNIT_PATH,
  NatGroup,
  natGroupMembersByZone,
  readHealthAgentScript,
} from '../../modules/nat';
import { Network } from '../../modules/vpc';
import { synthError, synthesize, TfBlock } from './support/synth';
import { EXAMPLE_NETWORK } from './support/example-nat';
import { evaluateTerraformString } from './support/terraform-console';
import { escapeForTerraform } from '../../modules/shared/terraform-expressions';
import { readBootScript, compactScript } from '../../modules/nat';
import { gzipSync } from 'zlib';

import { EC2_USER_DATA_LIMIT } from '../../scripts/validate/user-data-check';

const GROUP_NETWORK = { ...EXAMPLE_NETWORK, publicSubnets: ['10.8.0.0/24', '10.8.4.0/24'] };

function synthGroup(props: Partial<ConstructorParameters<typeof NatGroup>[2]> = {}) {
  return synthesize(
    (stack) => {
      const network = new Network(stack, 'network', GROUP_NETWORK);
      const group = new NatGroup(stack, 'group', {
        name: 'edge',
        vpcId: network.vpcId,
        privateSubnets: network.privateSubnets,
        members: natGroupMembersByZone(network),
        ...props,
      });
      return { network, group };
    },
    ({ network }) => ({
      privateSubnetRouteTableIds: network.privateSubnetRouteTableIds,
      privateRouteTableIds: network.privateRouteTableIds,
    }),
  );
}

type CloudConfig = { write_files: Array<{ path: string; content: string; permissions: string }>; runcmd?: unknown[] };

function userDataOfTemplate(json: Record<string, any>, template: TfBlock): CloudConfig {
  const local = /^\$\{base64gzip\(local\.([\w-]+)\)\}$/.exec(template.user_data)![1];
  return parse(json.locals[local]) as CloudConfig;
}

describe('GIVEN a NatGroup over the example network (private subnets in zones a, b, a; a public subnet per zone)', () => {
  const synth = synthGroup();
  const templates = Object.values(synth.resources('aws_launch_template'));

  it('THEN there is one self-healing NAT per zone, members named by zone', () => {
    expect(templates).toHaveLength(2);
    expect(Object.keys(synth.resources('aws_autoscaling_group'))).toHaveLength(2);
    expect(synth.resources('aws_instance')).toEqual({});
    expect(templates.map((template) => template.name_prefix).sort()).toEqual(['edge-a-', 'edge-b-']);
  });

  it("THEN each NAT claims only its own zone's tables at boot but translates every private subnet", () => {
    const [tableA, tableB] = synth.exposed.privateRouteTableIds;
    const settingsOf = (prefix: string) => {
      const template = templates.find((t) => t.name_prefix === prefix)!;
      return userDataOfTemplate(synth.json, template).write_files.find((file) => file.path === '/etc/nat-instance/settings')!.content;
    };
    expect(settingsOf('edge-a-')).toContain(`NAT_ROUTE_TABLE_IDS=${tableA}\n`);
    expect(settingsOf('edge-b-')).toContain(`NAT_ROUTE_TABLE_IDS=${tableB}\n`);
    for (const prefix of ['edge-a-', 'edge-b-'])
      expect(settingsOf(prefix)).toContain('NAT_PRIVATE_CIDRS=10.8.1.0/24,10.8.2.0/24,10.8.3.0/24\n');
  });

  it('THEN the user data installs the agent (the shipped script, its settings, a systemd unit) and starts it after cloud-init', () => {
    const [tableA, tableB] = synth.exposed.privateRouteTableIds;
    for (const [template, self] of templates.map((t) => [t, t.name_prefix === 'edge-a-' ? 'a' : 'b'] as const)) {
      const document = userDataOfTemplate(synth.json, template);
      const files = Object.fromEntries(document.write_files.map((file) => [file.path, file]));
      expect(files[HEALTH_AGENT_PATH].content).toBe(escapeForTerraform(compactScript(readHealthAgentScript())));
      expect(files['/var/lib/cloud/scripts/per-boot/nat-instance.sh'].content).toBe(escapeForTerraform(compactScript(readBootScript())));
      expect(files[HEALTH_AGENT_PATH].permissions).toBe('0755');
      expect(files[HEALTH_AGENT_UNIT_PATH].content).toMatch(/After=network-online.target cloud-final.service/);
      const settings = files[HEALTH_AGENT_SETTINGS_PATH].content;
      expect(settings).toContain(`NAT_GROUP_SELF=${self}\n`);
      expect(settings).toContain(`NAT_GROUP_MEMBERS=a=${tableA},b=${tableB}\n`);
      expect(settings).toMatch(/NAT_HEALTH_INTERVAL_SECONDS=2\n/);
      expect(document.runcmd).toEqual([
        ['systemctl', 'daemon-reload'],
        ['systemctl', 'enable', '--now', 'nat-health-agent.service'],
      ]);
    }
  });

  it('THEN each member has a heartbeat parameter Terraform creates (and destroy removes) but never overwrites', () => {
    const parameters = Object.values(synth.resources('aws_ssm_parameter'));
    expect(parameters.map((p) => p.name).sort()).toEqual(['/nat-instance/edge/a/heartbeat', '/nat-instance/edge/b/heartbeat']);
    for (const parameter of parameters) expect(parameter.lifecycle).toEqual({ ignore_changes: ['value'] });
  });

  it("THEN each member's first instance waits for its heartbeat parameter and its agent's permissions (the agent starts at first boot)", () => {
    const groups = synth.resources('aws_autoscaling_group');
    const attachments = synth.resources('aws_iam_role_policy_attachment');
    for (const member of ['a', 'b']) {
      const [groupName, group] = Object.entries(groups).find(([, g]) => g.name_prefix === `edge-${member}-`)!;
      const parameter = Object.entries(synth.resources('aws_ssm_parameter')).find(
        ([, p]) => p.name === `/nat-instance/edge/${member}/heartbeat`,
      )![0];
      const agentAttachment = Object.entries(attachments).find(([name]) => name.startsWith(`group_${member}-agent_attachment`))![0];
      expect({ groupName, dependsOn: group.depends_on }).toEqual({
        groupName,
        dependsOn: expect.arrayContaining([`aws_ssm_parameter.${parameter}`, `aws_iam_role_policy_attachment.${agentAttachment}`]),
      });
    }
  });

  it('THEN the user data stays within the 16 KB EC2 accepts once Terraform compresses it', () => {
    for (const template of templates) {
      const text = synth.json.locals[/local\.([\w-]+)/.exec(template.user_data)![1]] as string;
      expect(gzipSync(text).length).toBeLessThanOrEqual(EC2_USER_DATA_LIMIT);
    }
  });
});

describe('NatGroup props', () => {
  const network = (stack: any) => new Network(stack, 'network', GROUP_NETWORK);
  it('refuses fewer than two members', () => {
    expect(
      synthError((stack) => {
        const n = network(stack);
        return new NatGroup(stack, 'g', {
          vpcId: n.vpcId,
          privateSubnets: n.privateSubnets,
          members: natGroupMembersByZone(n).slice(0, 1),
        });
      }),
    ).toMatch(/'members' must hold at least two NATs/);
  });
  it('refuses a route table with two home members', () => {
    expect(
      synthError((stack) => {
        const n = network(stack);
        const [a, b] = natGroupMembersByZone(n);
        return new NatGroup(stack, 'g', {
          vpcId: n.vpcId,
          privateSubnets: n.privateSubnets,
          members: [a, { ...b, routeTableIds: a.routeTableIds }],
        });
      }),
    ).toMatch(/is listed for two members/);
  });
  it('refuses two members in one zone', () => {
    expect(
      synthError((stack) => {
        const n = network(stack);
        const [a] = natGroupMembersByZone(n);
        return new NatGroup(stack, 'g', {
          vpcId: n.vpcId,
          privateSubnets: n.privateSubnets,
          members: [a, { name: 'a2', publicSubnet: a.publicSubnet, routeTableIds: ['rtb-0123'] }],
        });
      }),
    ).toMatch(/two members have their public subnet in eu-central-1a/);
  });
  it('natGroupMembersByZone refuses a zone without a public subnet', () => {
    expect(() => synthesize((stack) => natGroupMembersByZone(new Network(stack, 'network', EXAMPLE_NETWORK)))).toThrow(
      /zone eu-central-1b has private subnets but no public subnet/,
    );
  });
});

describe('GIVEN a NatGroup whose members take fallback instance types on Spot (natProps)', () => {
  const synth = synthGroup({ natProps: { instanceType: 'c7g.medium', fallbackInstanceTypes: ['c6g.medium', 't4g.small'], spot: true } });
  const groups = Object.values(synth.resources('aws_autoscaling_group'));

  it("THEN every member's group launches the types in that order, on Spot, through a mixed instances policy", () => {
    expect(groups).toHaveLength(2);
    for (const group of groups) {
      expect(group.launch_template).toBeUndefined();
      expect(group.mixed_instances_policy.launch_template.override).toEqual([
        { instance_type: 'c7g.medium' },
        { instance_type: 'c6g.medium' },
        { instance_type: 't4g.small' },
      ]);
      expect(group.mixed_instances_policy.instances_distribution).toMatchObject({
        on_demand_base_capacity: 0,
        on_demand_percentage_above_base_capacity: 0,
        spot_allocation_strategy: 'capacity-optimized-prioritized',
      });
    }
  });

  it('THEN a group of plain instances refuses them, naming the prop', () => {
    const refused = synthError((stack) => {
      const n = new Network(stack, 'network', GROUP_NETWORK);
      const members = natGroupMembersByZone(n);
      return new NatGroup(stack, 'g', {
        vpcId: n.vpcId,
        privateSubnets: n.privateSubnets,
        members,
        selfHealing: false,
        natProps: { spot: true },
      });
    });
    expect(refused).toMatch(/^'spot' needs 'selfHealing'/);
  });

  it('THEN a group without them keeps naming its launch template directly (control)', () => {
    for (const group of Object.values(synthGroup().resources('aws_autoscaling_group'))) {
      expect(group.mixed_instances_policy).toBeUndefined();
      expect(group.launch_template).toBeDefined();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The agent's IAM, as AWS evaluates it.

const ACCOUNT = '111122223333';
const REGION = 'eu-central-1';
const TABLES = ['rtb-0a1b2c3d4e5f60001', 'rtb-0a1b2c3d4e5f60002'];

async function decide(policy: object, action: string, resource: string): Promise<string> {
  const simulation: Simulation = {
    identityPolicies: [{ name: 'agent', policy }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    request: { principal: `arn:aws:iam::${ACCOUNT}:role/edge-a`, action, resource: { resource, accountId: ACCOUNT }, contextVariables: {} },
  };
  const response = await runSimulation(simulation, {});
  if (response.resultType === 'error') throw new Error(JSON.stringify(response.errors));
  return response.overallResult;
}

describe("a member's agent policy, evaluated", () => {
  let policy: object;
  beforeAll(() => {
    const synth = synthGroup();
    const agentA = Object.values(synth.resources('aws_iam_policy')).find((p) => p.name === 'edge-a-agent')!;
    const tableNames = Object.keys(synth.resources('aws_route_table')).filter((name) => name.includes('private'));
    policy = JSON.parse(
      evaluateTerraformString(agentA.policy, {
        substitutions: [
          [/data\.aws_partition\.[\w-]+\.partition/, 'aws'],
          [/data\.aws_region\.[\w-]+\.id/, REGION],
          [/data\.aws_caller_identity\.[\w-]+\.account_id/, ACCOUNT],
          ...tableNames.map((name, i) => [new RegExp(`aws_route_table\\.${name}\\.id`), TABLES[i]] as const),
        ],
      }),
    );
  });
  const control = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ec2:*', 'ssm:*'], Resource: '*' }] };
  const table = (id: string) => `arn:aws:ec2:${REGION}:${ACCOUNT}:route-table/${id}`;
  const parameter = (name: string) => `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${name}`;

  it.each([
    ['ec2:ReplaceRoute', table(TABLES[0])],
    ['ec2:ReplaceRoute', table(TABLES[1])],
    ['ec2:CreateRoute', table(TABLES[1])],
    ['ssm:PutParameter', parameter('/nat-instance/edge/a/heartbeat')],
    ['ssm:GetParameters', parameter('/nat-instance/edge/b/heartbeat')],
    ['ec2:DescribeInstances', '*'],
    ['ec2:DescribeRouteTables', '*'],
  ])('allows %s on %s', async (action, resource) => {
    expect(await decide(policy, action, resource)).toBe('Allowed');
  });

  it.each([
    ['ec2:ReplaceRoute', table('rtb-0ffffffffffff9999')],
    ['ec2:DeleteRoute', table(TABLES[0])],
    ['ssm:PutParameter', parameter('/nat-instance/edge/b/heartbeat')],
    ['ssm:PutParameter', parameter('/nat-instance/other/a/heartbeat')],
    ['ssm:GetParameters', parameter('/nat-instance/other/a/heartbeat')],
    ['ssm:DeleteParameter', parameter('/nat-instance/edge/a/heartbeat')],
    ['ec2:TerminateInstances', `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-0123456789abcdef0`],
  ])('denies %s on %s (allowed by the ec2:*/ssm:* control)', async (action, resource) => {
    expect(await decide(control, action, resource)).toBe('Allowed');
    expect(await decide(policy, action, resource)).toBe('ImplicitlyDenied');
  });
});
