/**
 * GIVEN the plain-Terraform module as committed at terraform/modules/nat-instance (the nat-module
 * stack) and its usage example examples/multi-vpc in place beside it (one module block, for_each over
 * three NATs: single without an Elastic IP, single with one and a peered range, dual with one,
 * two peered ranges and a port forward), and three VPCs made by a test fixture in the same emulator
 * WHEN the real Terraform CLI with the real AWS provider applies the example against moto
 * THEN EC2, read back with the real AWS CLI, holds what each NAT's inputs ask for (routes to the
 * forwarding interface, source/destination check off, Elastic IP or not, the forwarded port
 * admitted only from its network, user data equal to what Terraform rendered with the settings
 * of those inputs); a second plan has nothing to change but the emulator's instance read-back;
 * destroying the example and then the fixture leaves nothing behind.
 */
import { join } from 'path';
import { gunzipSync } from 'zlib';
import { parseCloudConfigFiles } from '../lab/harness/synthesized-user-data';
import { readBootScript } from '../../modules/nat/user-data';
import { compactScript } from '../../modules/nat/compact-script';
import { readMetricsScript } from '../../modules/nat/metrics-settings';
import { awsCli } from '../support/aws-cli';
import { MotoServer, startMoto } from '../support/moto';
import { TerraformWorkspace } from '../support/terraform';
import { destroy, inventory, Inventory, leftovers, planDrift } from './emulated-deployment';
import { emulatorProviderOverride, isEmulatorInstanceDrift } from './emulator-workarounds';

jest.setTimeout(600_000);

const REPOSITORY = join(__dirname, '../..');
const MODULE_PATH = 'terraform/modules/nat-instance';
/**
 * The module under test: the committed copy users call from a release tag (the drift test keeps it
 * equal to a fresh synth of the nat-module stack). For the synthesized stack instead:
 * `const MODULE_DIRECTORY = synthesizeStacks().directory('nat-module');`
 */
const MODULE_DIRECTORY = join(REPOSITORY, MODULE_PATH);
const EXAMPLE_PATH = `${MODULE_PATH}/examples/multi-vpc`;
const FIXTURE_PATH = 'fixture-networks';

/** What the example's `locals.nats` asks of each NAT (kept in step with the example by the checks below). */
const EXPECTED = {
  dev: { mode: 'single', elasticIp: false, additionalCidrs: [] as string[], forwards: [] as string[] },
  staging: { mode: 'single', elasticIp: true, additionalCidrs: ['10.120.0.0/16'], forwards: [] as string[] },
  prod: {
    mode: 'dual',
    elasticIp: true,
    additionalCidrs: ['10.130.0.0/16', '10.131.0.0/16'],
    forwards: ['tcp 2222 10.30.1.10 22 preserve 203.0.113.0/28'],
  },
} as const;
type NatName = keyof typeof EXPECTED;
const NAT_NAMES = Object.keys(EXPECTED) as NatName[];

interface Network {
  readonly vpc_id: string;
  readonly public_subnet_id: string;
  readonly private_subnet_ids: string[];
  readonly route_table_ids: string[];
}

interface NatOutput {
  readonly instance_id: string;
  readonly public_ip: string;
  readonly forwarding_interface_id: string;
  readonly security_group_id: string;
}

let moto: MotoServer;
let root: TerraformWorkspace;
let fixture: TerraformWorkspace;
let example: TerraformWorkspace;
let before: Inventory;
let networks: Record<NatName, Network>;
const destroyed = { example: false, fixture: false };

beforeAll(async () => {
  moto = await startMoto();
  root = new TerraformWorkspace('nat-module-example')
    .copyFrom(MODULE_DIRECTORY, MODULE_PATH)
    .copyFrom(join(REPOSITORY, EXAMPLE_PATH), EXAMPLE_PATH) // already there unless MODULE_DIRECTORY is a synthesized stack
    .copyFrom(join(__dirname, 'fixtures/multi-vpc-networks'), FIXTURE_PATH);
  const provider = emulatorProviderOverride(moto.endpoint);
  for (const directory of [EXAMPLE_PATH, FIXTURE_PATH]) root.write(join(directory, provider.file), provider.content);
  fixture = root.at(FIXTURE_PATH);
  example = root.at(EXAMPLE_PATH);
  before = inventory(moto);
});

afterAll(async () => {
  try {
    // Bounded, best effort: a failed step must not leave a provider or the emulator behind.
    if (example && !destroyed.example && example.stateList().length > 0) destroy(example, 300_000);
    if (fixture && !destroyed.fixture && fixture.stateList().length > 0) destroy(fixture, 300_000);
  } finally {
    root?.remove();
    await moto?.stop();
  }
});

const ec2 = <T = any>(...args: string[]): T => awsCli<T>(moto.clientEnv, ['ec2', ...args]);

test('the fixture applies three VPCs, one per NAT of the example', () => {
  fixture.init();
  fixture.run(['apply', '-auto-approve', '-input=false', '-no-color']);
  networks = fixture.outputs().networks as Record<NatName, Network>;
  expect(Object.keys(networks).sort()).toEqual([...NAT_NAMES].sort());
  example.write('networks.auto.tfvars.json', { networks });
});

test('the example initializes with the module from ../.. and validates', () => {
  expect(example.init().stdout).toMatch(/Initializing modules\.\.\.[\s\S]*- nat in ..\/../);
  const validate = JSON.parse(example.run(['validate', '-json'], { check: false }).stdout) as { valid: boolean; error_count: number };
  expect(validate).toMatchObject({ valid: true, error_count: 0 });
});

test('plan creates one module instance per NAT, with an Elastic IP only where asked and a forwarding interface only in dual mode', () => {
  const plan = example.run(['plan', '-input=false', '-no-color', '-out=tfplan', '-detailed-exitcode'], { check: false });
  expect({ code: plan.code, stderr: plan.stderr }).toEqual({ code: 2, stderr: '' });
  const planned = (
    JSON.parse(example.run(['show', '-json', 'tfplan']).stdout).resource_changes as Array<{ address: string; type: string }>
  ).filter((change) => change.address.startsWith('module.nat['));
  const ofType = (type: string) =>
    planned
      .filter((change) => change.type === type)
      .map((change) => /^module\.nat\["(\w+)"\]/.exec(change.address)![1])
      .sort();
  expect(ofType('aws_instance')).toEqual(['dev', 'prod', 'staging']);
  expect(ofType('aws_eip')).toEqual(['prod', 'staging']);
  expect(ofType('aws_network_interface')).toEqual(['prod']);
});

test('apply of the saved plan succeeds, and a second plan has nothing to change but the emulator’s instance read-back', () => {
  const apply = example.run(['apply', '-input=false', '-no-color', 'tfplan'], { check: false });
  expect({ code: apply.code, stderr: apply.stderr }).toEqual({ code: 0, stderr: '' });
  expect(planDrift(example).filter((drift) => !isEmulatorInstanceDrift(drift))).toEqual([]);
});

describe.each(NAT_NAMES)('read back through the emulated EC2 API: NAT %s', (name) => {
  const expected = EXPECTED[name];
  let output: NatOutput;
  let network: Network;
  let instance: any;

  beforeAll(() => {
    output = (example.outputs().nats as Record<NatName, NatOutput>)[name];
    network = networks[name];
    instance = ec2('describe-instances', '--instance-ids', output.instance_id).Reservations[0].Instances[0];
  });

  const primaryInterface = () => instance.NetworkInterfaces.find((nic: any) => nic.Attachment.DeviceIndex === 0);

  test('the instance runs in the public subnet; the forwarding interface is the primary one (single) or a second one in the first private subnet (dual)', () => {
    expect(instance.State.Name).toBe('running');
    expect(instance.SubnetId).toBe(network.public_subnet_id);
    const forwarding = instance.NetworkInterfaces.find((nic: any) => nic.NetworkInterfaceId === output.forwarding_interface_id);
    expect(forwarding).toBeDefined();
    if (expected.mode === 'dual') {
      expect({ device: forwarding.Attachment.DeviceIndex, subnet: forwarding.SubnetId }).toEqual({
        device: 1,
        subnet: network.private_subnet_ids[0],
      });
    } else {
      expect(instance.NetworkInterfaces).toHaveLength(1);
      expect(forwarding.NetworkInterfaceId).toBe(primaryInterface().NetworkInterfaceId);
    }
  });

  test('every route table of the network sends 0.0.0.0/0 to the forwarding interface, which has source/destination check off', () => {
    const tables = ec2('describe-route-tables', '--route-table-ids', ...network.route_table_ids).RouteTables;
    const targets = tables.map(
      (table: any) => table.Routes.find((route: any) => route.DestinationCidrBlock === '0.0.0.0/0')?.NetworkInterfaceId ?? null,
    );
    expect(targets).toEqual(network.route_table_ids.map(() => output.forwarding_interface_id));
    if (expected.mode === 'dual') {
      const nic = ec2('describe-network-interfaces', '--network-interface-ids', output.forwarding_interface_id).NetworkInterfaces[0];
      expect(nic.SourceDestCheck).toBe(false);
    } else {
      // The primary interface's check is the instance's attribute on AWS; moto keeps the two apart
      // (EMULATOR DIFFERENCE "primary interface source/destination check"): read the instance's.
      const attribute = ec2('describe-instance-attribute', '--instance-id', output.instance_id, '--attribute', 'sourceDestCheck');
      expect(attribute.SourceDestCheck).toEqual({ Value: false });
    }
  });

  test(
    expected.elasticIp
      ? 'an Elastic IP on the primary interface is the public_ip output'
      : 'no Elastic IP: public_ip is the address EC2 gave the instance',
    () => {
      const addresses = ec2(
        'describe-addresses',
        '--filters',
        `Name=network-interface-id,Values=${primaryInterface().NetworkInterfaceId}`,
      ).Addresses;
      if (expected.elasticIp) {
        expect(addresses.map((address: any) => address.PublicIp)).toEqual([output.public_ip]);
      } else {
        expect(addresses).toEqual([]);
        expect(output.public_ip).toBe(instance.PublicIpAddress);
      }
      expect(output.public_ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    },
  );

  test('the security group admits the private subnets and peered ranges, and forwarded ports only from their allowed networks', () => {
    const group = ec2('describe-security-groups', '--group-ids', output.security_group_id).SecurityGroups[0];
    const sources = (protocol: string, port?: number) =>
      group.IpPermissions.filter((rule: any) => rule.IpProtocol === protocol && (port === undefined || rule.FromPort === port))
        .flatMap((rule: any) => rule.IpRanges.map((range: any) => range.CidrIp))
        .sort();
    const privateCidrs = ec2('describe-subnets', '--subnet-ids', ...network.private_subnet_ids).Subnets.map(
      (subnet: any) => subnet.CidrBlock,
    );
    expect(sources('-1')).toEqual([...privateCidrs, ...expected.additionalCidrs].sort());
    expect(sources('tcp', 2222)).toEqual(expected.forwards.length > 0 ? ['203.0.113.0/28'] : []);
    expect(group.IpPermissions.flatMap((rule: any) => rule.IpRanges.map((range: any) => range.CidrIp))).not.toContain('0.0.0.0/0');
  });

  test('the user data EC2 stores is what Terraform rendered: the boot script intact and the settings of this NAT’s inputs', () => {
    const stored = ec2('describe-instance-attribute', '--instance-id', output.instance_id, '--attribute', 'userData').UserData
      .Value as string;
    const state = example.resources().find((resource) => resource.address.startsWith(`module.nat["${name}"].aws_instance.`));
    expect(stored).toBe(state?.values.user_data_base64);
    const files = parseCloudConfigFiles(gunzipSync(Buffer.from(stored, 'base64')).toString('utf8'));
    // The settings, the boot script, and the metrics publisher (on by default) with its settings and units.
    expect(files.map((file) => file.path)).toEqual([
      '/etc/nat-instance/settings',
      '/var/lib/cloud/scripts/per-boot/nat-instance.sh',
      '/etc/nat-instance/metrics',
      '/var/lib/nat-instance/nat-metrics.sh',
      '/etc/systemd/system/nat-metrics.service',
      '/etc/systemd/system/nat-metrics.timer',
    ]);
    // Both compacted (EC2's 16 KB: modules/nat/compact-script.ts).
    expect(files[1].content).toBe(compactScript(readBootScript()));
    expect(files[3].content).toBe(compactScript(readMetricsScript()));
    const privateCidrs = ec2('describe-subnets', '--subnet-ids', ...network.private_subnet_ids).Subnets.map(
      (subnet: any) => subnet.CidrBlock,
    );
    // The settings as the boot script reads them: KEY=value lines, comments ignored.
    const settings = files[0].content.split('\n').filter((line) => /^[A-Z_]+=/.test(line));
    expect(settings).toEqual([
      `NAT_MODE=${expected.mode}`,
      `NAT_PRIVATE_CIDRS=${[...privateCidrs, ...expected.additionalCidrs].join(',')}`,
      ...(expected.mode === 'dual' ? [`NAT_FORWARDING_SUBNET_CIDR=${privateCidrs[0]}`] : []),
      'NAT_INTERFACE_WAIT_SECONDS=120',
      expect.stringMatching(/^NAT_CONNTRACK_MAX=\d+$/),
      'NAT_ROUTE_MODE=terraform',
      'NAT_PUBLIC_ADDRESS_COUNT=1', // public_ip_count's default
      ...expected.forwards.map((forward) => `NAT_PORT_FORWARD=${forward}`),
    ]);
  });
});

test('destroying the example, then the fixture, leaves nothing behind', () => {
  expect(Object.keys(leftovers(moto, before))).toEqual(expect.arrayContaining(['vpcs', 'instances not terminated', 'elastic IPs']));
  destroy(example);
  destroyed.example = true;
  expect(example.stateList()).toEqual([]);
  // The NATs are gone, their routes too: the fixture's route tables have no default route left.
  for (const network of Object.values(networks)) {
    const routes = ec2('describe-route-tables', '--route-table-ids', ...network.route_table_ids).RouteTables.flatMap(
      (table: any) => table.Routes,
    );
    expect(routes.filter((route: any) => route.DestinationCidrBlock === '0.0.0.0/0')).toEqual([]);
  }
  destroy(fixture);
  destroyed.fixture = true;
  expect(leftovers(moto, before)).toEqual({});
});
