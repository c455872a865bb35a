/**
 * NatInstance with `selfHealing`: a launch template and an Auto Scaling group of exactly one
 * instance, whose boot script takes over the Elastic IP, the static forwarding interface (dual) and
 * the route tables. Synth assertions; the policy's scope is evaluated in self-healing-policy.test.ts,
 * the apply in test/terraform, the replacement's egress in the lab.
 */
import { TerraformStack, TerraformVariable } from 'cdktf';
import { NatInstanceProps } from '../../modules/nat';
import { SELF_HEALING_TAG_KEY } from '../../modules/iam';
import { Synthesized, synthError, synthesize, TfBlock, warningsOf } from './support/synth';
import { natOnExampleNetwork } from './support/example-nat';
import { parse } from 'yaml';

function synthSelfHealing(props: Partial<NatInstanceProps> = {}): Synthesized<ReturnType<typeof natOnExampleNetwork>> {
  return synthesize(
    (stack) => natOnExampleNetwork(stack, { name: 'edge', selfHealing: true, ...props }),
    ({ network, nat }) => ({
      privateRouteTableIds: network.privateRouteTableIds,
      publicSubnetId: network.publicSubnetIds[0],
      privateSubnetIds: network.privateSubnetIds,
      forwardingInterfaceId: nat.forwardingInterfaceId ?? '',
      publicIp: nat.publicIp,
      groupName: nat.autoScalingGroup!.autoScalingGroupName,
    }),
  );
}

/** The settings file of the launch template's user data, as KEY → value (Terraform references left in). */
function settingsOf(synth: Synthesized<unknown>): Record<string, string> {
  const template = synth.only('aws_launch_template').block;
  const local = /^\$\{base64gzip\(local\.([\w-]+)\)\}$/.exec(template.user_data)?.[1];
  expect(local).toBeDefined();
  const document = parse(synth.json.locals[local!] as string) as { write_files: Array<{ path: string; content: string }> };
  const settings = document.write_files.find((file) => file.path === '/etc/nat-instance/settings')!.content;
  return Object.fromEntries(
    settings
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

const natRoutes = (synth: Synthesized<unknown>): TfBlock[] =>
  Object.values(synth.resources('aws_route')).filter((route) => !route.gateway_id);

describe('GIVEN a self-healing NatInstance in single mode', () => {
  const synth = synthSelfHealing();
  const template = synth.only('aws_launch_template');
  const group = synth.only('aws_autoscaling_group').block;
  const eip = synth.only('aws_eip');

  it('THEN there is no plain instance, and a group of exactly one instance from the latest template version', () => {
    expect(synth.resources('aws_instance')).toEqual({});
    expect([group.min_size, group.max_size, group.desired_capacity]).toEqual([1, 1, 1]);
    expect(group.vpc_zone_identifier).toEqual([synth.exposed.publicSubnetId]);
    expect(group.launch_template).toEqual({
      id: synth.ref('aws_launch_template', template.name, 'id'),
      version: synth.ref('aws_launch_template', template.name, 'latest_version'),
    });
    expect(group.health_check_type).toBe('EC2');
    expect(synth.exposed.groupName).toBe(synth.ref('aws_autoscaling_group', synth.only('aws_autoscaling_group').name, 'name'));
  });

  it('THEN a new template version (any settings change) is rolled out by an instance refresh', () => {
    expect(template.block.update_default_version).toBe(true);
    expect(group.instance_refresh).toEqual({ strategy: 'Rolling', preferences: { min_healthy_percentage: 0 } });
  });

  it('THEN the template launches one interface with a public address (to reach the EC2 API), IMDSv2 only, an encrypted root volume', () => {
    const t = template.block;
    expect(t.network_interfaces).toEqual([
      {
        device_index: 0,
        subnet_id: synth.exposed.publicSubnetId,
        security_groups: [expect.stringMatching(/^\$\{aws_security_group\./)],
        associate_public_ip_address: 'true',
        delete_on_termination: 'true',
      },
    ]);
    expect(t.metadata_options).toEqual({ http_tokens: 'required', http_put_response_hop_limit: 1, http_endpoint: 'enabled' });
    expect(t.block_device_mappings[0].ebs).toMatchObject({ encrypted: 'true', volume_type: 'gp3' });
    expect(t.user_data).toMatch(/^\$\{base64gzip\(local\.[\w-]+\)\}$/);
    expect(t.lifecycle).toEqual({ ignore_changes: ['image_id'] });
  });

  it('THEN every instance and interface it launches carries the tag that scopes its IAM', () => {
    const byType = Object.fromEntries(template.block.tag_specifications.map((spec: TfBlock) => [spec.resource_type, spec.tags]));
    expect(byType.instance).toMatchObject({ [SELF_HEALING_TAG_KEY]: 'edge', Name: 'edge' });
    expect(byType['network-interface']).toMatchObject({ [SELF_HEALING_TAG_KEY]: 'edge' });
  });

  it('THEN Terraform manages no NAT route and does not associate the Elastic IP: the instance does both at boot', () => {
    expect(natRoutes(synth)).toEqual([]);
    expect(eip.block.network_interface).toBeUndefined();
    expect(eip.block.instance).toBeUndefined();
    expect(synth.exposed.publicIp).toBe(synth.ref('aws_eip', eip.name, 'public_ip'));
    expect(synth.exposed.forwardingInterfaceId).toBe('');
  });

  it('THEN the boot script is told to claim the tables, associate the Elastic IP and turn off the source/dest check', () => {
    const settings = settingsOf(synth);
    expect(settings.NAT_ROUTE_MODE).toBe('self-claim');
    expect(settings.NAT_ROUTE_TABLE_IDS.split(',')).toEqual(synth.exposed.privateRouteTableIds);
    expect(settings.NAT_ELASTIC_IP_ALLOCATION_ID).toBe(synth.ref('aws_eip', eip.name, 'allocation_id'));
    expect(settings.NAT_DISABLE_SOURCE_DEST_CHECK).toBe('true');
    expect(settings.NAT_FORWARDING_INTERFACE_ID).toBeUndefined();
  });

  it('THEN the group waits for the route-claim and self-healing policies to be attached to the role', () => {
    const attachments = Object.entries(synth.resources('aws_iam_role_policy_attachment'))
      .filter(([, block]) => /route-claim|self-healing/.test(block.policy_arn))
      .map(([name]) => `aws_iam_role_policy_attachment.${name}`);
    expect(attachments).toHaveLength(2);
    expect([...group.depends_on].sort()).toEqual(attachments.sort());
  });
});

describe('GIVEN a self-healing NatInstance in dual mode', () => {
  const synth = synthSelfHealing({ mode: 'dual' });
  const enis = Object.entries(synth.resources('aws_network_interface'));

  it('THEN the forwarding interface is a static one, not attached by Terraform, with source/dest check off', () => {
    expect(enis).toHaveLength(1);
    const [name, eni] = enis[0];
    expect(eni.subnet_id).toBe(synth.exposed.privateSubnetIds[0]);
    expect(eni.source_dest_check).toBe(false);
    expect(synth.resources('aws_network_interface_attachment')).toEqual({});
    expect(synth.exposed.forwardingInterfaceId).toBe(synth.ref('aws_network_interface', name, 'id'));
  });

  it('THEN the launch template still launches a single interface (a second one would cost the public address)', () => {
    expect(synth.only('aws_launch_template').block.network_interfaces).toHaveLength(1);
  });

  it('THEN the boot script attaches that interface and associates the Elastic IP; the check stays on the primary', () => {
    const settings = settingsOf(synth);
    expect(settings.NAT_MODE).toBe('dual');
    expect(settings.NAT_FORWARDING_INTERFACE_ID).toBe(synth.ref('aws_network_interface', enis[0][0], 'id'));
    expect(settings.NAT_ELASTIC_IP_ALLOCATION_ID).toMatch(/^\$\{aws_eip\.[\w-]+\.allocation_id\}$/);
    expect(settings.NAT_DISABLE_SOURCE_DEST_CHECK).toBeUndefined();
  });
});

describe('self-healing props', () => {
  it("refuses routeMode 'terraform', naming both props", () => {
    expect(synthError((stack) => natOnExampleNetwork(stack, { selfHealing: true, routeMode: 'terraform' }))).toMatch(
      /'selfHealing' needs 'routeMode' 'self-claim'/,
    );
  });

  it('a replacement without an Elastic IP egresses from a new address: said at synth', () => {
    const synth = synthesize((stack) => natOnExampleNetwork(stack, { selfHealing: true, elasticIp: false }).nat);
    expect(synth.resources('aws_eip')).toEqual({});
    expect(warningsOf(synth.built)).toEqual(expect.arrayContaining([expect.stringMatching(/'elasticIp' is false with 'selfHealing'/)]));
  });

  it('a NatInstance without selfHealing keeps its plain instance and no group (control)', () => {
    const synth = synthesize((stack) => natOnExampleNetwork(stack, {}).nat);
    expect(Object.keys(synth.resources('aws_instance'))).toHaveLength(1);
    expect(synth.resources('aws_autoscaling_group')).toEqual({});
    expect(synth.resources('aws_launch_template')).toEqual({});
  });

  it('takes over an Elastic IP you own (the first of elasticIpAllocationIds) instead of creating one', () => {
    const owned = 'eipalloc-0123456789abcdef0';
    const synth = synthesize(
      (stack) => natOnExampleNetwork(stack, { name: 'edge', selfHealing: true, elasticIpAllocationIds: [owned] }).nat,
    );
    expect(synth.resources('aws_eip')).toEqual({});
    expect(synth.resources('aws_eip_association')).toEqual({});
    expect(settingsOf(synth).NAT_ELASTIC_IP_ALLOCATION_ID).toBe(owned);
    expect(Object.values(synth.dataSources('aws_eip')).map((eip) => eip.id)).toEqual([owned]);
  });

  it('refuses several public addresses: a replacement takes over one', () => {
    expect(synthError((stack) => natOnExampleNetwork(stack, { selfHealing: true, publicIpCount: 2 }))).toMatch(
      /'selfHealing' takes over one public address; 'publicIpCount' and 'elasticIpAllocationIds' ask for 2/,
    );
  });
});

describe('GIVEN a self-healing NatInstance with fallback instance types on Spot', () => {
  const synth = synthSelfHealing({ instanceType: 't4g.nano', fallbackInstanceTypes: ['t4g.micro', 'c7g.medium'], spot: true });
  const template = synth.only('aws_launch_template');
  const group = synth.only('aws_autoscaling_group').block;

  it('THEN the group launches through a mixed instances policy (not the template directly), from the latest template version', () => {
    expect(group.launch_template).toBeUndefined();
    expect(group.mixed_instances_policy.launch_template.launch_template_specification).toEqual({
      launch_template_id: synth.ref('aws_launch_template', template.name, 'id'),
      version: synth.ref('aws_launch_template', template.name, 'latest_version'),
    });
    expect([group.min_size, group.max_size, group.desired_capacity]).toEqual([1, 1, 1]);
    expect(group.instance_refresh).toEqual({ strategy: 'Rolling', preferences: { min_healthy_percentage: 0 } });
  });

  it('THEN one override per type, instanceType first and then the fallbacks in the order given; the template keeps instanceType', () => {
    expect(group.mixed_instances_policy.launch_template.override).toEqual([
      { instance_type: 't4g.nano' },
      { instance_type: 't4g.micro' },
      { instance_type: 'c7g.medium' },
    ]);
    expect(template.block.instance_type).toBe('t4g.nano');
  });

  it('THEN nothing is on-demand, and Spot pools are chosen for capacity with the order as priority', () => {
    expect(group.mixed_instances_policy.instances_distribution).toEqual({
      on_demand_allocation_strategy: 'prioritized',
      on_demand_base_capacity: 0,
      on_demand_percentage_above_base_capacity: 0,
      spot_allocation_strategy: 'capacity-optimized-prioritized',
    });
  });
});

describe('instance types and Spot of a self-healing NAT', () => {
  const policyOf = (props: Partial<NatInstanceProps>) => synthSelfHealing(props).only('aws_autoscaling_group').block.mixed_instances_policy;

  it('fallback types without Spot: all on-demand, the first type with capacity (prioritized), no Spot strategy', () => {
    const policy = policyOf({ instanceType: 'c6i.large', fallbackInstanceTypes: ['m6i.large'] });
    expect(policy.launch_template.override).toEqual([{ instance_type: 'c6i.large' }, { instance_type: 'm6i.large' }]);
    expect(policy.instances_distribution).toEqual({
      on_demand_allocation_strategy: 'prioritized',
      on_demand_base_capacity: 0,
      on_demand_percentage_above_base_capacity: 100,
    });
  });

  it('Spot alone: the one instance type, on Spot', () => {
    const policy = policyOf({ spot: true });
    expect(policy.launch_template.override).toEqual([{ instance_type: 't4g.nano' }]);
    expect(policy.instances_distribution.on_demand_percentage_above_base_capacity).toBe(0);
  });

  it('neither (or the defaults written out): the group names its launch template, with no mixed policy (unchanged for existing users)', () => {
    for (const props of [{}, { fallbackInstanceTypes: [], spot: false }]) {
      const synth = synthSelfHealing(props);
      const group = synth.only('aws_autoscaling_group').block;
      expect(group.mixed_instances_policy).toBeUndefined();
      expect(group.launch_template.id).toBe(synth.ref('aws_launch_template', synth.only('aws_launch_template').name, 'id'));
    }
  });

  it('token items and a token spot pass to Terraform (the share on demand follows spot)', () => {
    const synth = synthesize((stack) => {
      const extra = new TerraformVariable(stack, 'extra_type', { type: 'string' }).stringValue;
      const spot = new TerraformVariable(stack, 'spot', { type: 'bool' }).booleanValue as unknown as boolean;
      return natOnExampleNetwork(stack, { selfHealing: true, fallbackInstanceTypes: [extra], spot }).nat;
    });
    const policy = synth.only('aws_autoscaling_group').block.mixed_instances_policy;
    expect(policy.launch_template.override).toEqual([{ instance_type: 't4g.nano' }, { instance_type: '${var.extra_type}' }]);
    expect(policy.instances_distribution.on_demand_percentage_above_base_capacity).toBe('${var.spot ? 0 : 100}');
  });

  const refused = (props: Partial<NatInstanceProps>) => synthError((stack) => natOnExampleNetwork(stack, props));

  it.each([
    ['fallbackInstanceTypes', { fallbackInstanceTypes: ['t4g.micro'] }],
    ['spot', { spot: true }],
  ])("refuses '%s' on a plain instance (it launches one type, once), naming the prop", (prop, props) => {
    expect(refused(props)).toMatch(new RegExp(`^'${prop}' needs 'selfHealing'`));
    expect(refused({ ...props, selfHealing: false })).toMatch(new RegExp(`^'${prop}' needs 'selfHealing'`));
  });

  it('accepts the defaults written out on a plain instance (control)', () => {
    const synth = synthesize((stack) => natOnExampleNetwork(stack, { fallbackInstanceTypes: [], spot: false }).nat);
    expect(Object.keys(synth.resources('aws_instance'))).toHaveLength(1);
  });

  it('refuses a fallback of another architecture than the AMI (from instanceType, or architecture)', () => {
    expect(refused({ selfHealing: true, fallbackInstanceTypes: ['t4g.micro', 'c6i.large'] })).toBe(
      "'fallbackInstanceTypes[1]' c6i.large is x86_64, but the NAT's AMI is arm64 (from 'instanceType' t4g.nano): one launch template serves every type",
    );
    expect(refused({ selfHealing: true, instanceType: 'c6i.large', fallbackInstanceTypes: ['m7g.large'] })).toMatch(
      /^'fallbackInstanceTypes\[0\]' m7g.large is arm64, but the NAT's AMI is x86_64 \(from 'instanceType' c6i.large\)/,
    );
    const tokenType = (stack: TerraformStack) => new TerraformVariable(stack, 'type', { type: 'string' }).stringValue;
    expect(
      synthError((stack) =>
        natOnExampleNetwork(stack, {
          selfHealing: true,
          instanceType: tokenType(stack),
          architecture: 'x86_64',
          fallbackInstanceTypes: ['t4g.small'],
        }),
      ),
    ).toMatch(/^'fallbackInstanceTypes\[0\]' t4g.small is arm64, but the NAT's AMI is x86_64 \(from 'architecture'\)/);
  });

  it('refuses malformed, repeated and redundant types, and more than an Auto Scaling group takes', () => {
    expect(refused({ selfHealing: true, fallbackInstanceTypes: ['t4g'] })).toMatch(
      /^'fallbackInstanceTypes\[0\]' must be an EC2 instance type/,
    );
    expect(refused({ selfHealing: true, fallbackInstanceTypes: ['t4g.micro', 't4g.micro'] })).toMatch(
      /^'fallbackInstanceTypes' lists t4g.micro more than once/,
    );
    expect(refused({ selfHealing: true, fallbackInstanceTypes: ['t4g.nano'] })).toMatch(
      /^'fallbackInstanceTypes\[0\]' is t4g.nano, which is 'instanceType' already/,
    );
    const many = ['nano', 'micro', 'small', 'medium', 'large', 'xlarge', '2xlarge'].flatMap((size) =>
      ['t4g', 'm6g', 'm7g', 'c6g', 'c7g', 'r6g'].map((family) => `${family}.${size}`),
    );
    expect(refused({ selfHealing: true, instanceType: 'a1.large', fallbackInstanceTypes: many.slice(0, 40) })).toMatch(
      /^'fallbackInstanceTypes' holds 40 types; with 'instanceType' an Auto Scaling group takes at most 40/,
    );
    // 39 fallbacks and instanceType make 40: accepted (control).
    expect(policyOf({ instanceType: 'a1.large', fallbackInstanceTypes: many.slice(0, 39) }).launch_template.override).toHaveLength(40);
  });

  it('refuses a token list: its order is the order of preference, which a Terraform set would lose', () => {
    expect(
      synthError((stack) =>
        natOnExampleNetwork(stack, {
          selfHealing: true,
          fallbackInstanceTypes: new TerraformVariable(stack, 'types', { type: 'list(string)' }).listValue,
        }),
      ),
    ).toMatch(/^'fallbackInstanceTypes' must be a list written out in code/);
  });

  it("checks the public-address count against every type's per-interface limit, naming the fallback", () => {
    expect(refused({ selfHealing: true, instanceType: 'c6g.large', fallbackInstanceTypes: ['t4g.nano'], publicIpCount: 3 })).toBe(
      "'publicIpCount' is 3, but one network interface of instance type t4g.nano ('fallbackInstanceTypes[0]') carries at most 2 IPv4 addresses",
    );
  });
});
