/**
 * GIVEN the synthesized nat-module, byte for byte, and the committed nat-instance-self-healing module
 *   (kept equal to a fresh synth by the unit drift test), called from a root configuration as users call
 * it, with the real AWS provider 5.x against the emulated API (a VPC, subnets in two zones and
 * route tables created there first, so the module's subnet lookups answer at plan)
 * WHEN `terraform plan` runs with a wrong input
 * THEN it refuses it with a message naming the variable, as the construct refuses the prop at synth:
 * variable validations (generated from the settings table), preconditions on the instance (across
 * variables and looked-up subnets), and a `check` block that warns without failing.
 *
 * Wrong inputs caught by validation are planned together, one module call per file, and each error
 * is matched to its call by the file Terraform names; precondition and warning cases, which
 * Terraform reports without the calling module, are planned one by one.
 */
import { execFileSync } from 'child_process';
import { readdirSync, rmSync } from 'fs';
import { join } from 'path';
import { startMoto, MotoServer } from '../support/moto';
import { emulatorProviderSettings, TerraformWorkspace } from '../support/terraform';
import { synthesizeStacks } from './synthesized-stacks';

jest.setTimeout(600_000);

interface Network {
  readonly vpcId: string;
  readonly publicSubnetId: string;
  /** 10.8.1.0/24 in zone a (the public subnet's), 10.8.2.0/24 in zone b. */
  readonly privateSubnetIds: [string, string];
  readonly routeTableIds: [string, string];
  readonly securityGroupId: string;
}

/** The self-healing module as committed; a case calls it with `source: SELF_HEALING`. */
const SELF_HEALING_MODULE = 'terraform/modules/nat-instance-self-healing';
const SELF_HEALING = { source: './nat-instance-self-healing' };

let moto: MotoServer;
let workspace: TerraformWorkspace;
let net: Network;

/** The AWS CLI against the emulator (the endpoint given explicitly: older CLIs ignore AWS_ENDPOINT_URL). */
function aws(...args: string[]): string {
  return execFileSync('aws', ['--endpoint-url', moto.endpoint, ...args, '--output', 'text'], {
    encoding: 'utf8',
    env: { ...process.env, ...moto.clientEnv },
  }).trim();
}

beforeAll(async () => {
  moto = await startMoto();
  const vpcId = aws('ec2', 'create-vpc', '--cidr-block', '10.8.0.0/16', '--query', 'Vpc.VpcId');
  const subnet = (cidr: string, zone: string) =>
    aws('ec2', 'create-subnet', '--vpc-id', vpcId, '--cidr-block', cidr, '--availability-zone', zone, '--query', 'Subnet.SubnetId');
  const routeTable = () => aws('ec2', 'create-route-table', '--vpc-id', vpcId, '--query', 'RouteTable.RouteTableId');
  net = {
    vpcId,
    publicSubnetId: subnet('10.8.0.0/24', 'eu-central-1a'),
    privateSubnetIds: [subnet('10.8.1.0/24', 'eu-central-1a'), subnet('10.8.2.0/24', 'eu-central-1b')],
    routeTableIds: [routeTable(), routeTable()],
    securityGroupId: aws(
      'ec2',
      'create-security-group',
      '--vpc-id',
      vpcId,
      '--group-name',
      'clients',
      '--description',
      'clients',
      '--query',
      'GroupId',
    ),
  };
  workspace = new TerraformWorkspace('nat-module-checks')
    .copyFrom(synthesizeStacks().directory('nat-module'), 'nat-module')
    .copyFrom(join(__dirname, '../..', SELF_HEALING_MODULE), 'nat-instance-self-healing')
    .write('provider_override.tf.json', { provider: { aws: emulatorProviderSettings(moto.endpoint) } });
  workspace.init();
});

afterAll(async () => {
  workspace?.remove();
  await moto?.stop();
});

/** The inputs of a valid call: the required variables only. */
const valid = () => ({
  vpc_id: net.vpcId,
  public_subnet_id: net.publicSubnetId,
  private_subnet_ids: net.privateSubnetIds,
  route_table_ids: net.routeTableIds,
});

const SSH = { public_port: 9999, target_ip: '10.8.1.10', target_port: 22, allowed_cidrs: ['203.0.113.7/32'] };

interface Diagnostic {
  readonly severity: 'error' | 'warning';
  readonly summary: string;
  readonly detail: string;
  /** The file of the expression Terraform blames (`case_<name>.tf.json` for a variable's value). */
  readonly file?: string;
}

interface Plan {
  readonly code: number;
  readonly diagnostics: Diagnostic[];
}

/** Writes one `module "<name>"` call per case (each in `case_<name>.tf.json`) and runs `terraform plan -json`. */
function plan(cases: Record<string, Record<string, unknown>>): Plan {
  for (const file of readdirSync(workspace.dir).filter((name) => name.startsWith('case_'))) rmSync(join(workspace.dir, file));
  for (const [name, inputs] of Object.entries(cases)) {
    workspace.write(`case_${name}.tf.json`, { module: { [name]: { source: './nat-module', ...valid(), ...inputs } } });
  }
  workspace.run(['get', '-no-color']); // each module call is installed (a local copy of the module's path)
  const result = workspace.run(['plan', '-input=false', '-lock=false', '-json'], { check: false });
  const diagnostics = result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map(
      (line) =>
        JSON.parse(line) as {
          type: string;
          diagnostic?: { severity: 'error' | 'warning'; summary: string; detail: string; range?: { filename: string } };
        },
    )
    .filter((message) => message.type === 'diagnostic' && message.diagnostic)
    .map(({ diagnostic }) => ({
      severity: diagnostic!.severity,
      summary: diagnostic!.summary,
      detail: diagnostic!.detail.replace(/\s+/g, ' '),
      file: diagnostic!.range?.filename,
    }));
  return { code: result.code, diagnostics };
}

const mixed = (count: number, name: (i: number) => string) => Object.fromEntries(Array.from({ length: count }, (_, i) => [name(i), 'v']));

/** Wrong inputs that a variable's validation refuses: [case, inputs, the start of the message]. */
const VALIDATION_CASES: Array<[string, () => Record<string, unknown>, string]> = [
  ['empty_vpc_id', () => ({ vpc_id: '' }), 'vpc_id must be a VPC ID (vpc- and hex digits, like vpc-0123abcd).'],
  ['vpc_id_not_hex', () => ({ vpc_id: 'vpc-zz' }), 'vpc_id must be a VPC ID'],
  ['empty_public_subnet_id', () => ({ public_subnet_id: '' }), 'public_subnet_id must be a subnet ID (subnet- and hex digits'],
  ['public_subnet_name', () => ({ public_subnet_id: 'public-a' }), 'public_subnet_id must be a subnet ID'],
  ['no_private_subnets', () => ({ private_subnet_ids: [] }), 'private_subnet_ids must hold at least one entry.'],
  [
    'empty_private_subnet_id',
    () => ({ private_subnet_ids: [net.privateSubnetIds[0], ''] }),
    'private_subnet_ids: every entry must be a subnet ID',
  ],
  [
    'private_subnet_twice',
    () => ({ private_subnet_ids: [net.privateSubnetIds[0], net.privateSubnetIds[0]] }),
    'private_subnet_ids may list each entry only once.',
  ],
  ['no_route_tables', () => ({ route_table_ids: [] }), 'route_table_ids must hold at least one entry.'],
  [
    'route_table_of_wrong_shape',
    () => ({ route_table_ids: ['subnet-0abc'] }),
    'route_table_ids: every entry must be a route-table ID (rtb- and hex digits',
  ],
  [
    'route_table_twice',
    () => ({ route_table_ids: [net.routeTableIds[0], net.routeTableIds[0]] }),
    'route_table_ids may list each entry only once.',
  ],
  ['unknown_mode', () => ({ mode: 'triple' }), 'mode must be "single" or "dual".'],
  ['instance_size_typo', () => ({ instance_type: 't4g.nanno' }), 'instance_type must be an EC2 instance type: a family, a dot and a size'],
  ['instance_type_without_family', () => ({ instance_type: 'nano' }), 'instance_type must be an EC2 instance type'],
  [
    'security_group_name',
    () => ({ additional_security_group_ids: ['web-servers'] }),
    'additional_security_group_ids: every entry must be a security-group ID, not its name',
  ],
  [
    'security_group_twice',
    () => ({ additional_security_group_ids: [net.securityGroupId, net.securityGroupId] }),
    'additional_security_group_ids may list each entry only once.',
  ],
  [
    'cidr_prefix_33',
    () => ({ additional_cidrs: ['10.0.0.0/33'] }),
    'additional_cidrs: every entry must be an IPv4 CIDR block like 10.0.0.0/16, without host bits.',
  ],
  ['cidr_with_host_bits', () => ({ additional_cidrs: ['10.20.0.1/16'] }), 'additional_cidrs: every entry must be an IPv4 CIDR block'],
  ['ipv6_cidr', () => ({ additional_cidrs: ['fd00::/8'] }), 'additional_cidrs: every entry must be an IPv4 CIDR block'],
  ['empty_name', () => ({ name: '' }), 'name must be 1 to 64 ASCII letters, digits or _+=,.@-'],
  ['name_with_space', () => ({ name: 'my nat' }), 'name must be 1 to 64 ASCII letters'],
  ['name_not_ascii', () => ({ name: 'nät' }), 'name must be 1 to 64 ASCII letters'],
  ['name_too_long', () => ({ name: 'n'.repeat(65) }), 'name must be 1 to 64 ASCII letters'],
  ['name_starting_sg', () => ({ name: 'sg-nat' }), 'name must not start with sg- (security-group names may not).'],
  ['fifty_tags', () => ({ tags: mixed(50, (i) => `k${i}`) }), 'tags may hold at most 50 tags counting the "Name" tag we add'],
  ['aws_tag_key', () => ({ tags: { Team: 'net', 'aws:owner': 'me' } }), 'tags: every key must not start with aws: (reserved by AWS).'],
  [
    'public_port_0',
    () => ({ port_forwards: [{ ...SSH, public_port: 0 }] }),
    'port_forwards: public_port must be a whole number from 1 to 65535.',
  ],
  [
    'fractional_public_port',
    () => ({ port_forwards: [{ ...SSH, public_port: 80.5 }] }),
    'port_forwards: public_port must be a whole number from 1 to 65535.',
  ],
  [
    'target_port_70000',
    () => ({ port_forwards: [{ ...SSH, target_port: 70000 }] }),
    'port_forwards: target_port must be a whole number from 1 to 65535.',
  ],
  ['forward_protocol_icmp', () => ({ port_forwards: [{ ...SSH, protocol: 'icmp' }] }), 'port_forwards: protocol must be "tcp" or "udp".'],
  [
    'forward_target_not_ip',
    () => ({ port_forwards: [{ ...SSH, target_ip: '10.8.1' }] }),
    'port_forwards: target_ip must be an IPv4 address like 10.0.1.10.',
  ],
  [
    'forward_target_ipv6',
    () => ({ port_forwards: [{ ...SSH, target_ip: 'fd00::1' }] }),
    'port_forwards: target_ip must be an IPv4 address',
  ],
  [
    'forward_without_sources',
    () => ({ port_forwards: [{ ...SSH, allowed_cidrs: [] }] }),
    'port_forwards: allowed_cidrs must hold at least one entry.',
  ],
  [
    'forward_source_prefix_33',
    () => ({ port_forwards: [{ ...SSH, allowed_cidrs: ['203.0.113.7/33'] }] }),
    'port_forwards: allowed_cidrs: every entry must be an IPv4 CIDR block',
  ],
  [
    'forward_from_internet',
    () => ({ port_forwards: [{ ...SSH, allowed_cidrs: ['203.0.113.7/32', '0.0.0.0/0'] }] }),
    'port_forwards: allowed_cidrs covers 2^25 addresses or more',
  ],
  [
    'forward_from_internet_halves',
    () => ({ port_forwards: [{ ...SSH, allowed_cidrs: ['0.0.0.0/1', '128.0.0.0/1'] }] }),
    'port_forwards: allowed_cidrs covers 2^25 addresses or more',
  ],
  [
    'forward_port_twice',
    () => ({ port_forwards: [SSH, { ...SSH, target_ip: '10.8.1.11' }] }),
    'port_forwards: each protocol and public_port pair may appear only once.',
  ],
  [
    'eip_association_id',
    () => ({ eip_allocation_ids: ['eipassoc-0123abcd'] }),
    'eip_allocation_ids: every entry must be an Elastic IP allocation ID (eipalloc- and hex digits',
  ],
  [
    'eip_allocation_twice',
    () => ({ eip_allocation_ids: ['eipalloc-0123abcd', 'eipalloc-0123abcd'] }),
    'eip_allocation_ids may list each entry only once.',
  ],
  ['public_ip_count_0', () => ({ public_ip_count: 0 }), 'public_ip_count must be a whole number from 1 to 50.'],
  ['public_ip_count_fractional', () => ({ public_ip_count: 1.5 }), 'public_ip_count must be a whole number from 1 to 50.'],
  ['public_ip_count_51', () => ({ public_ip_count: 51 }), 'public_ip_count must be a whole number from 1 to 50.'],
  // The self-healing module: the same rules where its variables are the same, and its own.
  [
    'self_healing_route_table_twice',
    () => ({ ...SELF_HEALING, route_table_ids: [net.routeTableIds[0], net.routeTableIds[0]] }),
    'route_table_ids may list each entry only once.',
  ],
  [
    'self_healing_instance_size_typo',
    () => ({ ...SELF_HEALING, instance_type: 't4g.nanno' }),
    'instance_type must be an EC2 instance type',
  ],
  [
    'self_healing_fallback_without_family',
    () => ({ ...SELF_HEALING, fallback_instance_types: ['t4g.micro', 'micro'] }),
    'fallback_instance_types: every entry must be an EC2 instance type',
  ],
  [
    'self_healing_fallback_twice',
    () => ({ ...SELF_HEALING, fallback_instance_types: ['t4g.micro', 't4g.micro'] }),
    'fallback_instance_types may list each entry only once.',
  ],
];

/**
 * Wrong inputs caught across variables and looked-up subnets: the instance's preconditions. The
 * forward targets are tried together (the message lists every refused target). Dual mode across
 * zones, the forwarding interface's precondition, is tried in nat-module-zones.test.ts.
 */
const PRECONDITION_CASES: Array<[string, () => Record<string, unknown>, string]> = [
  [
    'forward_targets_outside_or_reserved',
    () => ({
      port_forwards: ['10.8.0.10', '10.8.1.0', '10.8.1.1', '10.8.1.2', '10.8.1.3', '10.8.2.255', '10.8.1.10'].map((target_ip, i) => ({
        ...SSH,
        public_port: 9000 + i,
        target_ip,
      })),
    }),
    'port_forwards: target_ip must be a usable address of one of private_subnet_ids (10.8.1.0/24, 10.8.2.0/24), not one of the five addresses AWS reserves in every subnet (the first four and the last); refused: 10.8.0.10, 10.8.1.0, 10.8.1.1, 10.8.1.2, 10.8.1.3, 10.8.2.255.',
  ],
  ['internet_as_clients', () => ({ additional_cidrs: ['0.0.0.0/0'] }), 'additional_cidrs covers 2^25 addresses or more'],
  [
    'internet_as_clients_in_halves',
    () => ({ additional_cidrs: ['10.20.0.0/16', '0.0.0.0/1', '128.0.0.0/1'] }),
    'set allow_any_client_source = true if you mean it.',
  ],
  // The self-healing module's preconditions sit on its launch template.
  [
    'self_healing_fallback_repeats_instance_type',
    () => ({ ...SELF_HEALING, fallback_instance_types: ['t4g.nano'] }),
    'fallback_instance_types lists t4g.nano, which is instance_type already.',
  ],
  [
    'self_healing_fallback_of_another_architecture',
    () => ({ ...SELF_HEALING, fallback_instance_types: ['t4g.micro', 't3.micro'] }),
    'fallback_instance_types: every type must have the architecture of instance_type t4g.nano (one launch template and AMI serve them all); refused: t3.micro.',
  ],
  // Dual mode: the static forwarding interface's precondition (zone b's subnet first, the public subnet in zone a).
  [
    'self_healing_dual_forwarding_subnet_in_another_zone',
    () => ({ ...SELF_HEALING, mode: 'dual', private_subnet_ids: [net.privateSubnetIds[1], net.privateSubnetIds[0]] }),
    "NAT dual mode: the forwarding interface's subnet",
  ],
];

/** Inputs the module accepts, as the construct does (the edges of the rules above). */
const ACCEPTED_CASES: Array<[string, () => Record<string, unknown>]> = [
  ['valid', () => ({})],
  ['dual_mode_with_eip', () => ({ mode: 'dual' })],
  ['every_private_range', () => ({ additional_cidrs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'] })],
  ['internet_with_opt_in', () => ({ additional_cidrs: ['0.0.0.0/1', '128.0.0.0/1'], allow_any_client_source: true })],
  ['forward_from_internet_with_opt_in', () => ({ port_forwards: [{ ...SSH, allowed_cidrs: ['0.0.0.0/0'], allow_any_source: true }] })],
  [
    'forwards_on_subnet_edges',
    () => ({
      port_forwards: [
        { ...SSH, target_ip: '10.8.1.4' },
        { ...SSH, protocol: 'udp', target_ip: '10.8.2.254' },
      ],
    }),
  ],
  ['forty_nine_tags', () => ({ tags: mixed(49, (i) => `k${i}`), name: 'n'.repeat(64) })],
  ['client_security_group', () => ({ additional_security_group_ids: [net.securityGroupId], instance_type: 'c7gn.16xlarge' })],
  ['owned_elastic_ip', () => ({ eip_allocation_ids: ['eipalloc-0123abcd'] })],
  ['two_addresses_on_a_nano', () => ({ public_ip_count: 2, eip_allocation_ids: ['eipalloc-0123abcd'] })],
  ['owned_addresses_raise_the_count', () => ({ eip_allocation_ids: ['eipalloc-0123abcd', 'eipalloc-0123abce'] })],
  ['ten_addresses_on_an_m5_large', () => ({ public_ip_count: 10, instance_type: 'm5.large' })],
  ['self_healing', () => ({ ...SELF_HEALING })],
  ['self_healing_dual', () => ({ ...SELF_HEALING, mode: 'dual' })],
  ['self_healing_fallbacks_on_spot', () => ({ ...SELF_HEALING, fallback_instance_types: ['t4g.micro', 'm7g.medium'], spot: true })],
  ['self_healing_x86_with_fallback', () => ({ ...SELF_HEALING, instance_type: 't3.micro', fallback_instance_types: ['t3a.micro'] })],
];

/**
 * Public addresses the NAT cannot carry: preconditions of the public interface and of the Elastic
 * IP associations (one per owned address), since the count, the owned addresses, the instance type
 * and `elastic_ip` are separate variables. Planned together; Terraform names no calling module for
 * a precondition, so each case is told by how often its message appears.
 */
const OVER_THE_INTERFACE_LIMIT =
  'The number of public addresses exceeds the IPv4 addresses one network interface of the instance type carries';
const PUBLIC_ADDRESS_CASES: Array<[string, () => Record<string, unknown>, string, number]> = [
  ['three_addresses_on_a_nano', () => ({ public_ip_count: 3 }), OVER_THE_INTERFACE_LIMIT, 1],
  ['eleven_addresses_on_an_m5_large', () => ({ public_ip_count: 11, instance_type: 'm5.large' }), OVER_THE_INTERFACE_LIMIT, 1],
  [
    'two_addresses_without_elastic_ips',
    () => ({ public_ip_count: 2, elastic_ip: false }),
    'Several public addresses need elastic_ip = true',
    1,
  ],
  [
    'owned_address_without_elastic_ip',
    () => ({ eip_allocation_ids: ['eipalloc-0123abcd'], elastic_ip: false }),
    'Owned Elastic IPs need elastic_ip = true (it is false).',
    1,
  ],
  // Two owned addresses: each association refuses.
  [
    'more_owned_than_addresses',
    () => ({ eip_allocation_ids: ['eipalloc-0123abcd', 'eipalloc-0123abce'], public_ip_count: 1 }),
    'More Elastic IP allocation IDs than public addresses',
    2,
  ],
];

describe('nat-module at terraform plan', () => {
  test(`GIVEN ${VALIDATION_CASES.length} wrong inputs THEN each is refused by its variable's validation, naming the variable`, () => {
    const result = plan(Object.fromEntries(VALIDATION_CASES.map(([name, inputs]) => [name, inputs()])));
    expect(result.code).not.toBe(0);
    const outcomes = VALIDATION_CASES.map(([name, , message]) => {
      const mine = result.diagnostics.filter((d) => d.file === `case_${name}.tf.json`);
      return {
        name,
        refused: mine.some((d) => d.severity === 'error' && d.summary === 'Invalid value for variable' && d.detail.includes(message)),
        details: mine.map((d) => d.detail),
      };
    });
    expect(outcomes.filter((outcome) => !outcome.refused)).toEqual([]);
    // Nothing else failed: every error belongs to one of the cases.
    expect(
      result.diagnostics.filter((d) => d.severity === 'error' && !VALIDATION_CASES.some(([name]) => d.file === `case_${name}.tf.json`)),
    ).toEqual([]);
  });

  test.each(PRECONDITION_CASES)('GIVEN %s THEN a precondition of the instance refuses it, naming the variable', (name, inputs, message) => {
    const result = plan({ [name]: inputs() });
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    expect({ code: result.code, errors: errors.map((d) => `${d.summary}: ${d.detail}`) }).toEqual({
      code: 1,
      errors: [expect.stringContaining(`Resource precondition failed: `)],
    });
    expect(errors[0].detail).toContain(message);
  });

  test(`GIVEN ${PUBLIC_ADDRESS_CASES.length} sets of public addresses the NAT cannot carry THEN preconditions refuse each, and nothing else fails`, () => {
    const result = plan(Object.fromEntries(PUBLIC_ADDRESS_CASES.map(([name, inputs]) => [name, inputs()])));
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    expect(result.code).toBe(1);
    expect(errors.filter((d) => d.summary !== 'Resource precondition failed')).toEqual([]);
    // A message shared by several cases counts once for each of them.
    const expected = new Map<string, number>();
    for (const [, , message, times] of PUBLIC_ADDRESS_CASES) expected.set(message, (expected.get(message) ?? 0) + times);
    const seen = [...expected.keys()].map((message) => [message, errors.filter((d) => d.detail.includes(message)).length]);
    expect(Object.fromEntries(seen)).toEqual(Object.fromEntries(expected));
    expect(errors).toHaveLength([...expected.values()].reduce((a, b) => a + b, 0));
  });

  test("GIVEN dual mode without an Elastic IP THEN the plan succeeds with the check block's warning, as the construct warns", () => {
    const result = plan({ dual_mode_without_eip: { mode: 'dual', elastic_ip: false } });
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(result.code).toBe(0);
    expect(result.diagnostics).toContainEqual(
      expect.objectContaining({
        severity: 'warning',
        summary: 'Check block assertion failed',
        detail: 'elastic_ip is false in dual mode: an instance with two interfaces loses its public IP on stop/start, and egress with it.',
      }),
    );
  });

  test(`GIVEN ${ACCEPTED_CASES.length} calls on the edges of the rules THEN terraform plans them all, without warnings`, () => {
    const result = plan(Object.fromEntries(ACCEPTED_CASES.map(([name, inputs]) => [name, inputs()])));
    expect(result.diagnostics.filter((d) => d.severity === 'error' || d.summary === 'Check block assertion failed')).toEqual([]);
    expect(result.code).toBe(0);
  });
});
