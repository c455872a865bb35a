/**
 * The whole chain, closed: construct → JSON → Terraform → EC2 → cloud-init files → boot script →
 * packets.
 *
 * GIVEN nat-example as `cdktf synth` writes it, applied by the real Terraform CLI and AWS provider
 * against the emulated AWS API (moto; overrides and work-arounds as in test/terraform)
 * WHEN the NAT's user data is read back from the emulated EC2 (the exact bytes Terraform sent:
 * base64 of gzip), decoded, and its write_files put on the lab NAT's disk as cloud-init would
 * THEN the boot script they hold runs and every private subnet of the lab (the example's own
 * layout, 10.8.0.0/16) reaches the internet through the NAT, translated to its public address;
 * before the boot nothing gets out (control).
 *
 * Needs root (the lab), terraform with the provider mirror and moto (the real-Terraform suite).
 */
import { gunzipSync } from 'zlib';
import {
  createLabVpc,
  expectBootSuccess,
  expectNoAnswer,
  expectSourceIp,
  LAB_ADDRESSES,
  LAB_LAYOUT,
  requireRoot,
  SourceIpProbe,
  teardownLabs,
} from './harness';
import { awsCli } from '../support/aws-cli';
import { MotoServer, startMoto } from '../support/moto';
import { TerraformWorkspace } from '../support/terraform';
import { stackWorkspace } from '../terraform/emulated-deployment';
import { synthesizeStacks } from '../terraform/synthesized-stacks';

jest.setTimeout(600_000);

const STACK = 'nat-example';
const stacks = synthesizeStacks();
const json = stacks.json(STACK);
let moto: MotoServer;
let workspace: TerraformWorkspace;
/** The NAT's user data as the emulated EC2 stores it, decoded. */
let delivered: string;

beforeAll(async () => {
  requireRoot();
  moto = await startMoto();
  ({ workspace } = stackWorkspace(STACK, stacks.directory(STACK), json, moto));
  workspace.init();
  // The emulator and everything in it are discarded afterwards: destroy is proven by the terraform suite.
  workspace.run(['apply', '-auto-approve', '-input=false', '-no-color']);
  const natInstanceId = workspace.outputs()['nat-instance-id'] as string;
  const stored = awsCli(moto.clientEnv, ['ec2', 'describe-instance-attribute', '--instance-id', natInstanceId, '--attribute', 'userData'])
    .UserData.Value as string;
  delivered = gunzipSync(Buffer.from(stored, 'base64')).toString('utf8');
});

afterEach(teardownLabs);

afterAll(async () => {
  workspace?.remove();
  await moto?.stop();
});

const probe = (scenario: string, from: 'h1' | 'h2' | 'h3', protocol: 'tcp' | 'udp'): SourceIpProbe => ({
  scenario,
  from,
  protocol,
  host: LAB_ADDRESSES.internetServerIp,
  port: protocol === 'tcp' ? LAB_ADDRESSES.internetHttpPort : LAB_ADDRESSES.internetUdpPort,
});

test('the user data EC2 holds is the NAT cloud-config, with the subnets Terraform created in the example’s (and the lab’s) layout', () => {
  expect(delivered.startsWith('#cloud-config\n')).toBe(true);
  expect(delivered).toContain(`NAT_PRIVATE_CIDRS=${LAB_LAYOUT.privateSubnets.join(',')}\n`);
  expect(delivered).toContain(`NAT_FORWARDING_SUBNET_CIDR=${LAB_LAYOUT.privateSubnets[0]}\n`);
  expect(delivered).toContain('NAT_MODE=dual\n');
});

test('booted from those bytes, the NAT translates every private subnet’s TCP and UDP to its public address; before the boot nothing gets out', async () => {
  const lab = await createLabVpc({ mode: 'dual', userData: delivered });
  expect(lab.userData.evaluated).toBe(delivered);
  expect(lab.readNatFile('/var/lib/cloud/scripts/per-boot/nat-instance.sh')).toBe(
    lab.userData.files.find((f) => f.path.endsWith('nat-instance.sh'))?.content,
  );

  expectNoAnswer(lab, probe('from EC2: before the boot', 'h1', 'tcp'));
  expectBootSuccess('from EC2: boot', lab.runBootScript());
  for (const host of lab.privateHosts) {
    for (const protocol of ['tcp', 'udp'] as const) {
      expectSourceIp(
        lab,
        probe(`from EC2: ${host.node} (${host.subnet}) ${protocol}`, host.node as 'h1' | 'h2' | 'h3', protocol),
        lab.natPublicIp,
      );
    }
  }
});
