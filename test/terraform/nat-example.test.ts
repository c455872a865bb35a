/**
 * GIVEN nat-example as `cdktf synth` writes it, byte for byte, plus override files (the
 * emulator's endpoint and test credentials, and the emulator work-arounds named in
 * ./emulator-workarounds.ts)
 * WHEN the real Terraform CLI with the real AWS provider inits, validates, plans and applies it
 * against the emulated AWS API (moto)
 * THEN what EC2 holds, read back with the real AWS CLI (not from Terraform's state), is the NAT
 * users asked for: private route tables send 0.0.0.0/0 to the forwarding interface, that
 * interface forwards (source/destination check off), the Elastic IP is on the NAT, the outputs
 * name what exists, and the user data EC2 stores decodes to exactly the cloud-config Terraform
 * rendered; a second plan finds nothing to change; destroy leaves nothing behind.
 *
 * The steps share one deployment and run in order; a failed step fails the ones after it.
 */
import { gunzipSync } from 'zlib';
import { parseCloudConfigFiles } from '../lab/harness/synthesized-user-data';
import { readBootScript } from '../../modules/nat/user-data';
import { compactScript } from '../../modules/nat/compact-script';
import { readMetricsScript } from '../../modules/nat/metrics-settings';
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
  planDrift,
  stackWorkspace,
  tearDown,
} from './emulated-deployment';
import { isEmulatorInstanceDrift } from './emulator-workarounds';
import { firstDeploymentSteps } from './first-deployment-steps';
import { synthesizeStacks } from './synthesized-stacks';

jest.setTimeout(600_000);

const STACK = 'nat-example';
const PRIVATE_CIDRS = ['10.8.1.0/24', '10.8.2.0/24', '10.8.3.0/24'];

const stacks = synthesizeStacks();
const json = stacks.json(STACK);
let moto: MotoServer;
let workspace: TerraformWorkspace;
let workarounds: string[];
let before: Inventory;
let destroyed = false;

beforeAll(async () => {
  moto = await startMoto();
  ({ workspace, workarounds } = stackWorkspace(STACK, stacks.directory(STACK), json, moto));
  before = inventory(moto);
});

afterAll(() => tearDown({ workspace, destroyed, moto }));

const ec2 = <T = any>(...args: string[]): T => awsCli<T>(moto.clientEnv, ['ec2', ...args]);

/** The one resource of a type in the synthesized JSON whose name starts with `prefix`. */
function resourceName(type: string, prefix: string): string {
  const names = Object.keys(json.resource[type] ?? {}).filter((name) => name.startsWith(prefix));
  if (names.length !== 1) throw new Error(`expected one ${type} named ${prefix}… in ${STACK}, found ${names.join(', ') || 'none'}`);
  return names[0];
}

test('the only emulator work-around nat-example needs is the root volume size of the private test instances', () => {
  expect(workarounds).toEqual(['emulator_workaround_root_volume_size_override.tf.json']);
});

firstDeploymentSteps(() => ({ workspace, json }));

test('terraform apply of the saved plan succeeds, and a second plan finds nothing to change but the emulator’s instance read-back', () => {
  const apply = applySavedPlan(workspace);
  expect({ code: apply.code, stderr: apply.stderr }).toEqual({ code: 0, stderr: '' });
  expect(apply.stdout).toMatch(/Apply complete! Resources: \d+ added, 0 changed, 0 destroyed/);
  // Only the emulator's read-back of instances may differ (INSTANCE_READBACK_DRIFT); anything else is a perpetual diff users would see.
  expect(planDrift(workspace).filter((drift) => !isEmulatorInstanceDrift(drift))).toEqual([]);
});

describe('read back through the emulated EC2 API', () => {
  let outputs: Record<string, any>;
  let nat: any;
  let forwardingInterface: any;

  beforeAll(() => {
    outputs = workspace.outputs();
    nat = ec2('describe-instances', '--instance-ids', outputs['nat-instance-id']).Reservations[0].Instances[0];
    // Dual mode: the forwarding interface is the one attached at device index 1, in the first private subnet.
    forwardingInterface = nat.NetworkInterfaces.find((nic: any) => nic.Attachment.DeviceIndex === 1);
  });

  test('the outputs name a running NAT, its public IP and one running private test instance per private subnet', () => {
    expect(nat.State.Name).toBe('running');
    expect(outputs['public-ip']).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const testInstances = ec2('describe-instances', '--instance-ids', ...outputs['test-instances-ids']).Reservations.flatMap(
      (r: any) => r.Instances,
    );
    const subnets = ec2('describe-subnets', '--subnet-ids', ...testInstances.map((i: any) => i.SubnetId)).Subnets;
    expect(testInstances.map((i: any) => i.State.Name)).toEqual(['running', 'running', 'running']);
    expect(subnets.map((s: any) => s.CidrBlock).sort()).toEqual(PRIVATE_CIDRS);
    expect(testInstances.filter((i: any) => i.PublicIpAddress)).toEqual([]);
  });

  test('every private subnet’s route table sends 0.0.0.0/0 to the forwarding interface', () => {
    expect(forwardingInterface).toBeDefined();
    const privateSubnets = ec2(
      'describe-subnets',
      '--filters',
      `Name=vpc-id,Values=${nat.VpcId}`,
      `Name=cidr-block,Values=${PRIVATE_CIDRS.join(',')}`,
    ).Subnets;
    expect(privateSubnets).toHaveLength(3);
    const defaultRoutes = privateSubnets.map((subnet: any) => {
      const table = ec2('describe-route-tables', '--filters', `Name=association.subnet-id,Values=${subnet.SubnetId}`).RouteTables;
      expect(table).toHaveLength(1);
      const route = table[0].Routes.find((r: any) => r.DestinationCidrBlock === '0.0.0.0/0');
      return { cidr: subnet.CidrBlock, target: route?.NetworkInterfaceId ?? route?.GatewayId ?? null };
    });
    defaultRoutes.sort((a: { cidr: string }, b: { cidr: string }) => a.cidr.localeCompare(b.cidr));
    expect(defaultRoutes).toEqual(PRIVATE_CIDRS.map((cidr) => ({ cidr, target: forwardingInterface.NetworkInterfaceId })));
  });

  test('the forwarding interface has source/destination check off and sits in the first private subnet', () => {
    const nic = ec2('describe-network-interfaces', '--network-interface-ids', forwardingInterface.NetworkInterfaceId).NetworkInterfaces[0];
    expect(nic.SourceDestCheck).toBe(false);
    const subnet = ec2('describe-subnets', '--subnet-ids', nic.SubnetId).Subnets[0];
    expect(subnet.CidrBlock).toBe(PRIVATE_CIDRS[0]);
    expect(nic.Attachment).toMatchObject({ InstanceId: nat.InstanceId, Status: 'attached' });
  });

  test('the Elastic IP of the public-ip output is associated with the NAT’s primary interface', () => {
    const address = ec2('describe-addresses', '--public-ips', outputs['public-ip']).Addresses[0];
    const primary = nat.NetworkInterfaces.find((nic: any) => nic.Attachment.DeviceIndex === 0);
    expect(address).toMatchObject({ Domain: 'vpc', NetworkInterfaceId: primary.NetworkInterfaceId });
    expect(address.AssociationId).toMatch(/^eipassoc-/);
    // The interface is the NAT's, and EC2 reports the address on it.
    const nic = ec2('describe-network-interfaces', '--network-interface-ids', primary.NetworkInterfaceId).NetworkInterfaces[0];
    expect(nic.Attachment).toMatchObject({ InstanceId: nat.InstanceId, DeviceIndex: 0 });
    expect(nic.Association?.PublicIp).toBe(outputs['public-ip']);
  });

  test('the user data EC2 stores decodes (base64, gzip) to exactly the cloud-config Terraform rendered, boot script intact', () => {
    const stored = ec2('describe-instance-attribute', '--instance-id', nat.InstanceId, '--attribute', 'userData').UserData.Value as string;
    const decoded = gunzipSync(Buffer.from(stored, 'base64')).toString('utf8');
    const local = /^\$\{base64gzip\(local\.([\w-]+)\)\}$/.exec(
      json.resource.aws_instance[resourceName('aws_instance', 'nat_instance')].user_data_base64,
    )?.[1];
    expect(local).toBeDefined();
    const rendered = workspace.evaluate(`local.${local}`);
    expect(decoded).toBe(rendered);
    // What cloud-init would write: the script byte for byte, and settings with every Terraform value filled in.
    const files = parseCloudConfigFiles(decoded);
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
    expect(files[0].content).toContain(`NAT_PRIVATE_CIDRS=${PRIVATE_CIDRS.join(',')}\n`);
    expect(files[0].content).toContain(`NAT_FORWARDING_SUBNET_CIDR=${PRIVATE_CIDRS[0]}\n`);
    expect(files[0].content).not.toContain('${');
  });
});

describe('terraform destroy', () => {
  let afterApply: Inventory;

  beforeAll(() => {
    afterApply = inventory(moto);
  });

  test('the apply created the network, the NAT, the test instances and their IAM role in the emulator (what destroy must remove)', () => {
    const created = added(before, afterApply);
    expect(created).toMatchObject({
      vpcs: [expect.stringMatching(/^vpc-/)],
      subnets: expect.arrayContaining([expect.stringMatching(/^subnet-/)]),
      'elastic IPs': [expect.stringMatching(/^eipalloc-/)],
      'instances not terminated': expect.arrayContaining([outputsOf().nat]),
      'IAM roles': ['nat-example-ssm'],
      'IAM instance profiles': ['nat-example-ssm'],
    });
    expect(created['instances not terminated']).toHaveLength(4);
  });

  test('destroy removes everything: the state is empty and the emulator holds what it held before the apply', () => {
    destroy(workspace);
    destroyed = true;
    expect(workspace.stateList()).toEqual([]);
    expect(leftovers(moto, before)).toEqual({});
  });

  function outputsOf(): { nat: string } {
    return { nat: workspace.outputs()['nat-instance-id'] as string };
  }
});
