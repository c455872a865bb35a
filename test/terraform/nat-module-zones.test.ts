/**
 * GIVEN the synthesized nat-module, byte for byte, called from a small HCL configuration, and a
 * VPC whose subnets were created in the emulated EC2 API (moto) in two availability zones
 * WHEN the real `terraform plan` runs with the real AWS provider
 * THEN a dual-mode NAT whose forwarding subnet (the first of private_subnet_ids) is in another
 * zone than its public subnet fails the plan with the module's message, naming both subnets and
 * zones; the same subnets in one zone plan, and single mode does not care where private subnets are.
 */
import { execFileSync } from 'child_process';
import { synthesizeStacks } from './synthesized-stacks';
import { emulatorProviderSettings, TerraformWorkspace } from '../support/terraform';
import { MOTO_REGION, MotoServer, startMoto } from '../support/moto';

jest.setTimeout(600_000);

const ZONE_A = `${MOTO_REGION}a`;
const ZONE_B = `${MOTO_REGION}b`;

/** The caller a user would write (the provider's emulator settings come from an override file). */
const CALLER = `
variable "vpc_id" { type = string }
variable "public_subnet_id" { type = string }
variable "private_subnet_ids" { type = list(string) }
variable "route_table_id" { type = string }
variable "mode" { type = string }

provider "aws" {
  region = "${MOTO_REGION}"
}

module "nat" {
  source             = "./nat-module"
  name               = "zones"
  mode               = var.mode
  vpc_id             = var.vpc_id
  public_subnet_id   = var.public_subnet_id
  private_subnet_ids = var.private_subnet_ids
  route_table_ids    = [var.route_table_id]
}
`;

interface Vpc {
  readonly vpcId: string;
  readonly publicInZoneA: string;
  readonly privateInZoneA: string;
  readonly privateInZoneB: string;
  readonly routeTableId: string;
}

let moto: MotoServer;
let workspace: TerraformWorkspace;
let vpc: Vpc;

/** The real AWS CLI against the emulator; returns the value `--query` selects. */
function ec2(args: string[]): string {
  return execFileSync('aws', ['ec2', ...args, '--output', 'text'], { env: { ...process.env, ...moto.clientEnv }, encoding: 'utf8' }).trim();
}

function createSubnet(vpcId: string, cidr: string, zone: string): string {
  return ec2(['create-subnet', '--vpc-id', vpcId, '--cidr-block', cidr, '--availability-zone', zone, '--query', 'Subnet.SubnetId']);
}

beforeAll(async () => {
  moto = await startMoto();
  const vpcId = ec2(['create-vpc', '--cidr-block', '10.8.0.0/16', '--query', 'Vpc.VpcId']);
  vpc = {
    vpcId,
    publicInZoneA: createSubnet(vpcId, '10.8.0.0/24', ZONE_A),
    privateInZoneA: createSubnet(vpcId, '10.8.1.0/24', ZONE_A),
    privateInZoneB: createSubnet(vpcId, '10.8.2.0/24', ZONE_B),
    routeTableId: ec2(['create-route-table', '--vpc-id', vpcId, '--query', 'RouteTable.RouteTableId']),
  };
  workspace = new TerraformWorkspace('nat-module-zones')
    .copyFrom(synthesizeStacks().directory('nat-module'), 'nat-module')
    .write('main.tf', CALLER)
    // Emulator work-around, test only: the provider talks to moto with test credentials.
    .write('emulator_override.tf.json', { provider: { aws: emulatorProviderSettings(moto.endpoint) } });
  workspace.init();
});

afterAll(async () => {
  workspace?.remove();
  await moto?.stop();
});

/** `terraform plan` with the caller's variables; never applies. */
function plan(mode: 'single' | 'dual', privateSubnetIds: string[]) {
  const file = `${mode}-${privateSubnetIds.join('-')}.tfvars.json`;
  workspace.write(file, {
    mode,
    vpc_id: vpc.vpcId,
    public_subnet_id: vpc.publicInZoneA,
    private_subnet_ids: privateSubnetIds,
    route_table_id: vpc.routeTableId,
  });
  return workspace.run(['plan', '-input=false', '-no-color', '-lock=false', `-var-file=${file}`], { check: false });
}

/** Terraform wraps diagnostics at the terminal width and frames them with │: one line of prose. */
function unwrapped(text: string): string {
  return text.replace(/[│╷╵]/g, ' ').replace(/\s+/g, ' ');
}

test('GIVEN dual mode WHEN the forwarding subnet is in another zone than the public subnet THEN terraform plan fails with a message naming both subnets and zones', () => {
  const result = plan('dual', [vpc.privateInZoneB, vpc.privateInZoneA]);
  expect({ code: result.code, stderr: result.stderr }).toEqual({
    code: 1,
    stderr: expect.stringContaining('Resource precondition failed'),
  });
  expect(unwrapped(result.stderr)).toContain(
    `NAT dual mode: the forwarding interface's subnet ${vpc.privateInZoneB} is in ${ZONE_B} but the public subnet ` +
      `${vpc.publicInZoneA} is in ${ZONE_A}; all interfaces of an instance must be in its availability zone, so the ` +
      `forwarding subnet (the first private subnet unless chosen) must be in ${ZONE_A}.`,
  );
  // The plan stops (no saved plan could be applied), and the forwarding interface is not in it.
  expect(result.stdout).toContain('Terraform planned the following actions, but then encountered a problem');
  expect(result.stdout).not.toContain('aws_network_interface.nat_forwarding-eni');
});

test('control: GIVEN dual mode WHEN the forwarding subnet shares the public subnet zone (another private subnet does not) THEN terraform plan succeeds', () => {
  const result = plan('dual', [vpc.privateInZoneA, vpc.privateInZoneB]);
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  expect(result.stdout).toMatch(/module\.nat\.aws_network_interface\.nat_forwarding-eni_\w+\[0\] will be created/);
  expect(result.stdout).toMatch(/Plan: \d+ to add, 0 to change, 0 to destroy/);
});

test('control: GIVEN single mode WHEN the only private subnet is in another zone THEN terraform plan succeeds (no forwarding interface, no zone rule)', () => {
  const result = plan('single', [vpc.privateInZoneB]);
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  expect(result.stdout).not.toContain('aws_network_interface.nat_forwarding-eni');
  expect(result.stdout).toMatch(/Plan: \d+ to add, 0 to change, 0 to destroy/);
});
