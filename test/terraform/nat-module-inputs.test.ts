/**
 * GIVEN the synthesized nat-module, byte for byte, called from HCL as users call it, against a VPC
 * that exists in the emulated EC2 API (moto)
 * WHEN an input is invalid (one bad variable per module block, the others valid)
 * THEN the real `terraform plan` with the real AWS provider rejects it with that variable's
 * own message, attributed to that module block; the same call with valid inputs plans.
 *
 * To cover a new validation, add a row to BAD_INPUTS.
 */
import { execFileSync } from 'child_process';
import { synthesizeStacks } from './synthesized-stacks';
import { emulatorProviderOverride } from './emulator-workarounds';
import { TerraformWorkspace } from '../support/terraform';
import { MOTO_REGION, MotoServer, startMoto } from '../support/moto';

jest.setTimeout(600_000);

interface BadInput {
  /** What is wrong, as the test name says it. */
  readonly case: string;
  readonly variable: string;
  /** The value as an HCL expression. */
  readonly value: string;
  /** The variable's validation message (a part of it is enough). */
  readonly message: string;
}

const PORTS = 'port_forwards: public_port and target_port must be whole numbers from 1 to 65535.';
const SSH = 'public_port = 9999, target_ip = "10.8.1.10", target_port = 22';
const forward = (fields: string) => `[{ ${fields} }]`;

const BAD_INPUTS: BadInput[] = [
  { case: 'a VPC ID without the vpc- prefix', variable: 'vpc_id', value: '"vpc_1"', message: 'vpc_id must look like vpc-0123abcd.' },
  { case: 'a public subnet ID that is not subnet-…', variable: 'public_subnet_id', value: '"sub-1"', message: 'public_subnet_id must look like subnet-0123abcd.' },
  { case: 'no private subnets', variable: 'private_subnet_ids', value: '[]', message: 'private_subnet_ids must hold at least one subnet-… ID.' },
  { case: 'a subnet ID among the route tables', variable: 'route_table_ids', value: '["subnet-0abc"]', message: 'route_table_ids must hold at least one rtb-… ID.' },
  { case: 'an unknown mode', variable: 'mode', value: '"triple"', message: 'mode must be "single" or "dual".' },
  { case: 'an instance type without a family', variable: 'instance_type', value: '"nano"', message: 'instance_type must look like t4g.nano.' },
  { case: 'a security group ID with an underscore', variable: 'additional_security_group_ids', value: '["sg_1"]', message: 'additional_security_group_ids must hold sg-… IDs.' },
  { case: 'a CIDR with prefix /33', variable: 'additional_cidrs', value: '["10.0.0.0/33"]', message: 'additional_cidrs must hold IPv4 CIDR blocks.' },
  { case: 'an IPv6 CIDR', variable: 'additional_cidrs', value: '["fd00::/8"]', message: 'additional_cidrs must hold IPv4 CIDR blocks.' },
  { case: 'a name with spaces', variable: 'name', value: '"has spaces"', message: 'name must be 1-40 letters, digits or dashes.' },
  { case: 'a name of 41 characters', variable: 'name', value: `"${'n'.repeat(41)}"`, message: 'name must be 1-40 letters, digits or dashes.' },
  { case: 'a forward from public port 0', variable: 'port_forwards', value: forward('public_port = 0, target_ip = "10.8.1.10", target_port = 22, allowed_cidrs = ["203.0.113.7/32"]'), message: PORTS },
  { case: 'a forward to port 70000', variable: 'port_forwards', value: forward('public_port = 8080, target_ip = "10.8.1.10", target_port = 70000, allowed_cidrs = ["203.0.113.7/32"]'), message: PORTS },
  { case: 'a forward of ICMP', variable: 'port_forwards', value: forward(`${SSH}, protocol = "icmp", allowed_cidrs = ["203.0.113.7/32"]`), message: 'port_forwards: protocol must be "tcp" or "udp".' },
  { case: 'a forward to an incomplete address', variable: 'port_forwards', value: forward('public_port = 9999, target_ip = "10.8.1", target_port = 22, allowed_cidrs = ["203.0.113.7/32"]'), message: 'port_forwards: target_ip must be an IPv4 address like 10.0.1.10.' },
  { case: 'a forward allowed from nowhere', variable: 'port_forwards', value: forward(`${SSH}, allowed_cidrs = []`), message: 'port_forwards: allowed_cidrs must hold at least one IPv4 CIDR block.' },
  { case: 'a forward open to 0.0.0.0/0 without allow_any_source', variable: 'port_forwards', value: forward(`${SSH}, allowed_cidrs = ["0.0.0.0/0"]`), message: 'port_forwards: allowed_cidrs holds 0.0.0.0/0, the whole internet' },
  {
    case: 'two forwards of the same protocol and public port',
    variable: 'port_forwards',
    value: `[{ ${SSH}, allowed_cidrs = ["203.0.113.7/32"] }, { public_port = 9999, target_ip = "10.8.1.11", target_port = 22, allowed_cidrs = ["203.0.113.7/32"] }]`,
    message: 'port_forwards: each protocol and public_port pair may appear only once.',
  },
];

interface Diagnostic {
  readonly severity: string;
  readonly summary: string;
  readonly detail: string;
  readonly snippet?: { readonly context?: string | null; readonly code?: string };
}

let moto: MotoServer;
let workspace: TerraformWorkspace;
let valid: Record<string, string>;
/** Diagnostics of the one plan holding every bad call, by module block name. */
let diagnostics: Map<string, Diagnostic[]>;

/** The real AWS CLI against the emulator; returns the value `--query` selects. */
function ec2(args: string[]): string {
  return execFileSync('aws', ['ec2', ...args, '--output', 'text'], { env: { ...process.env, ...moto.clientEnv }, encoding: 'utf8' }).trim();
}

const blockName = (index: number) => `bad_${index}`;

/** One module block calling ../nat-module: the valid inputs, with `override` replacing one of them. */
function moduleBlock(name: string, override?: BadInput): string {
  const inputs = { ...valid, ...(override ? { [override.variable]: override.value } : {}) };
  const lines = Object.entries(inputs).map(([variable, value]) => `  ${variable} = ${value}`);
  return [`module "${name}" {`, '  source = "../nat-module"', ...lines, '}', ''].join('\n');
}

/** `terraform plan -json`: exit code, diagnostics, and the addresses it would create. */
function plan(directory: TerraformWorkspace): { code: number; diagnostics: Diagnostic[]; creates: string[] } {
  const result = directory.run(['plan', '-input=false', '-lock=false', '-json'], { check: false });
  const messages = result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { type: string; diagnostic?: Diagnostic; change?: { action: string; resource: { addr: string } } });
  return {
    code: result.code,
    diagnostics: messages.filter((message) => message.type === 'diagnostic').map((message) => message.diagnostic!),
    creates: messages.filter((message) => message.type === 'planned_change' && message.change?.action === 'create').map((message) => message.change!.resource.addr),
  };
}

beforeAll(async () => {
  moto = await startMoto();
  const vpcId = ec2(['create-vpc', '--cidr-block', '10.8.0.0/16', '--query', 'Vpc.VpcId']);
  const subnet = (cidr: string) => ec2(['create-subnet', '--vpc-id', vpcId, '--cidr-block', cidr, '--availability-zone', `${MOTO_REGION}a`, '--query', 'Subnet.SubnetId']);
  valid = {
    vpc_id: `"${vpcId}"`,
    public_subnet_id: `"${subnet('10.8.0.0/24')}"`,
    private_subnet_ids: `["${subnet('10.8.1.0/24')}"]`,
    route_table_ids: `["${ec2(['create-route-table', '--vpc-id', vpcId, '--query', 'RouteTable.RouteTableId'])}"]`,
  };
  const provider = emulatorProviderOverride(moto.endpoint);
  workspace = new TerraformWorkspace('nat-module-inputs').copyFrom(synthesizeStacks().directory('nat-module'), 'nat-module');
  // The calls users write (two configurations sharing one copy of the module); the provider
  // block gets the emulator's endpoint from the override file.
  const providerBlock = `provider "aws" {\n  region = "${MOTO_REGION}"\n}\n`;
  workspace
    .write('bad/main.tf', providerBlock + BAD_INPUTS.map((input, i) => moduleBlock(blockName(i), input)).join('\n'))
    .write(`bad/${provider.file}`, provider.content)
    .write('valid/main.tf', providerBlock + moduleBlock('valid'))
    .write(`valid/${provider.file}`, provider.content);
  workspace.at('bad').init();
  workspace.at('valid').init();
  const bad = plan(workspace.at('bad'));
  expect(bad.code).toBe(1);
  diagnostics = new Map();
  for (const diagnostic of bad.diagnostics) {
    const name = /^module "(\w+)"/.exec(diagnostic.snippet?.context ?? '')?.[1] ?? '(not attributed to a module block)';
    diagnostics.set(name, [...(diagnostics.get(name) ?? []), diagnostic]);
  }
});

afterAll(async () => {
  workspace?.remove();
  await moto?.stop();
});

test('control: GIVEN valid inputs THEN terraform plan succeeds with the NAT to create', () => {
  const result = plan(workspace.at('valid'));
  expect({ code: result.code, errors: result.diagnostics.filter((d) => d.severity === 'error') }).toEqual({ code: 0, errors: [] });
  expect(result.creates).toEqual(expect.arrayContaining([expect.stringMatching(/^module\.valid\.aws_instance\./)]));
});

test(`at least 10 invalid inputs are tried (${BAD_INPUTS.length}), and every error of the plan belongs to one of them`, () => {
  expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(10);
  expect([...diagnostics.keys()].filter((name) => !/^bad_\d+$/.test(name))).toEqual([]);
});

test.each(BAD_INPUTS.map((input, i) => [input.case, input.variable, i] as const))(
  'GIVEN %s (%s) THEN terraform plan rejects it with the variable’s message',
  (_case, variable, index) => {
    const found = (diagnostics.get(blockName(index)) ?? []).map((d) => ({
      severity: d.severity,
      summary: d.summary,
      detail: d.detail.replace(/\s+/g, ' '),
      // The caller's line Terraform points at: the bad argument itself.
      line: d.snippet?.code?.trim().split(/\s*=/)[0],
    }));
    expect(found).toEqual([
      { severity: 'error', summary: 'Invalid value for variable', detail: expect.stringContaining(BAD_INPUTS[index].message), line: variable },
    ]);
  },
);
