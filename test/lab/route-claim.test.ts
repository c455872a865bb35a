/**
 * Route self-claim at boot, in the network-namespace lab: the boot script from a synthesized
 * self-claim NatInstance (the same rendering as `cdktf synth`) runs in the NAT namespace, reads
 * its identity from an IMDSv2 double and claims the private route tables through the real AWS
 * CLI (Debian `awscli`) against an EC2 API. The lab's VPC router has no private default route
 * until that API says the route tables target the NAT, so egress proves the claim.
 *
 * The EC2 API is the moto emulator wherever its route semantics suffice (replace-route fails
 * without a default route and create-route then works, unknown route tables and interfaces are
 * refused): its VPC, route tables and interfaces are created first, and the settings carry its
 * route-table IDs as Terraform would render them. The hand-written EC2 double remains where moto
 * cannot help: refusing the first calls the way EC2 does while an IAM policy is still propagating,
 * under throttling or with server errors, to prove the bounded retries.
 */
import { appendFileSync } from 'fs';
import {
  createLabVpc,
  expectBootSuccess,
  expectNoAnswer,
  expectSourceIp,
  LAB_ADDRESSES,
  LabVpc,
  requireRoot,
  run,
  SourceIpProbe,
  teardownLabs,
} from './harness';
import { bridgeLoopbackPort, evaluateTerraformString, LoopbackBridge, synthesizeNatUserData } from './harness';
import { AwsDoubles, Ec2Call, Ec2Refusal, IMDS_ADDRESS, RouteTableDouble } from './doubles/aws-doubles';
import { awsCli, awsCliResult } from '../support/aws-cli';
import { MOTO_REGION, MotoServer, startMoto } from '../support/moto';

jest.setTimeout(240_000);

const INSTANCE_ID = 'i-0123456789abcdef0';
const REGION = 'eu-central-1';
const MOTO_ZONE = `${MOTO_REGION}a`;
const STALE_ENI = 'eni-0dead00000000beef';
/** The lab VPC router's private route table (see harness/lab-vpc.ts). */
const VPC_PRIVATE_ROUTE_TABLE = '100';
/**
 * The claim's first backoff in the lab (NAT_ROUTE_CLAIM_BACKOFF_MS; 2000 on an instance): waits
 * double from it up to 32 times it, so the lab's eight attempts wait 4.75 s at most.
 */
const LAB_BACKOFF_MS = 50;
/** Attempts per route table before the script gives up (ROUTE_CLAIM_ATTEMPTS in the script). */
const CLAIM_ATTEMPTS = 8;

interface NatInterface {
  readonly ifname: string;
  readonly mac: string;
  readonly eni: string;
  readonly address: string;
}

interface SelfClaimBoot {
  readonly lab: LabVpc;
  readonly doubles: AwsDoubles;
  /** Route-table IDs as the synthesized settings file lists them. */
  readonly routeTableIds: string[];
  readonly interfaces: Record<string, NatInterface>;
  readonly result: ReturnType<typeof run>;
}

let current: { lab?: LabVpc; doubles?: AwsDoubles; bridge?: LoopbackBridge; moto?: MotoServer } = {};

beforeAll(() => requireRoot());

afterEach(async () => {
  current.doubles?.stop();
  current.bridge?.stop();
  await current.moto?.stop();
  // Every lab of this process, also one whose build timed out before `current` knew it.
  teardownLabs();
  current = {};
});

/** The NAT's interfaces as EC2 knows them: MAC and ENI ID (the AL2023 `eni-…` altname). */
function natInterfaces(lab: LabVpc): Record<string, NatInterface> {
  const links = JSON.parse(run(['ip', '-j', '-n', lab.namespace('nat'), 'address', 'show']).stdout) as Array<{
    ifname: string;
    address: string;
    altnames?: string[];
    addr_info: Array<{ family: string; local: string }>;
  }>;
  const result: Record<string, NatInterface> = {};
  for (const link of links) {
    const eni = (link.altnames ?? []).find((name) => name.startsWith('eni-'));
    const address = link.addr_info.find((info) => info.family === 'inet')?.local;
    if (eni && address) result[link.ifname] = { ifname: link.ifname, mac: link.address.toLowerCase(), eni, address };
  }
  return result;
}

/** NAT_ROUTE_TABLE_IDS of the settings file the synthesized user data writes. */
function settingsRouteTableIds(lab: LabVpc): string[] {
  const settings = lab.userData.files.find((file) => file.path === '/etc/nat-instance/settings');
  const line = settings?.content.split('\n').find((l) => l.startsWith('NAT_ROUTE_TABLE_IDS='));
  if (!line) throw new Error(`the synthesized settings have no NAT_ROUTE_TABLE_IDS:\n${settings?.content}`);
  return line.slice('NAT_ROUTE_TABLE_IDS='.length).split(',');
}

interface SelfClaimOptions {
  /** Which NAT interfaces the metadata double knows. @default all */
  readonly knownToMetadata?: (nic: NatInterface) => boolean;
  /** How the EC2 double answers the first calls. @default [] */
  readonly refusals?: Array<Ec2Refusal | null>;
  /** More environment for the boot script. @default {} */
  readonly environment?: Record<string, string>;
  /** Lines appended to the synthesized settings file before the boot. @default none */
  readonly extraSettings?: string;
}

/**
 * Builds a lab whose NAT comes from a self-claim NatInstance, starts the doubles with the
 * route tables `tables(ids)` describes, removes the VPC router's private default route, and runs
 * the boot script with the doubles' environment and the lab's short claim backoff.
 */
async function bootSelfClaim(
  mode: 'single' | 'dual',
  tables: (ids: string[]) => Record<string, RouteTableDouble>,
  options: SelfClaimOptions = {},
): Promise<SelfClaimBoot> {
  const knownToMetadata = options.knownToMetadata ?? (() => true);
  const lab = await createLabVpc({ mode, natProps: { routeMode: 'self-claim' } });
  current.lab = lab;
  if (options.extraSettings) appendFileSync(lab.diskPath('/etc/nat-instance/settings'), options.extraSettings);
  const routeTableIds = settingsRouteTableIds(lab);
  const interfaces = natInterfaces(lab);
  const doubles = await AwsDoubles.start({
    namespace: lab.namespace('nat'),
    instanceId: INSTANCE_ID,
    region: REGION,
    interfaces: Object.fromEntries(
      Object.values(interfaces)
        .filter(knownToMetadata)
        .map((nic) => [nic.mac, nic.eni]),
    ),
    routeTables: tables(routeTableIds),
    refusals: options.refusals,
  });
  current.doubles = doubles;
  // Until the NAT claims them, the private route tables have no route for 0.0.0.0/0: unreachable
  // (a deleted route would let the router fall through to its main table, i.e. the IGW).
  run(['ip', '-n', lab.namespace('vpc'), 'route', 'replace', 'unreachable', 'default', 'table', VPC_PRIVATE_ROUTE_TABLE]);
  const environment = Object.entries({
    ...doubles.scriptEnvironment(),
    NAT_ROUTE_CLAIM_BACKOFF_MS: String(LAB_BACKOFF_MS),
    ...options.environment,
  }).map(([key, value]) => `${key}=${value}`);
  const result = run(['env', ...environment, ...lab.bootScriptCommand()], { timeoutMs: 180_000, check: false });
  return { lab, doubles, routeTableIds, interfaces, result };
}

/**
 * The lab's VPC router follows the EC2 API: when every route table targets one ENI of the NAT,
 * the private route table sends 0.0.0.0/0 to that interface's address.
 */
function followClaimedRoutes(boot: Pick<SelfClaimBoot, 'lab' | 'interfaces'>, routeTargets: Record<string, string | null>): void {
  const targets = new Set(Object.values(routeTargets));
  const nic = Object.values(boot.interfaces).find((candidate) => targets.size === 1 && targets.has(candidate.eni));
  if (!nic) throw new Error(`the route tables do not all target one NAT interface: ${JSON.stringify(routeTargets)}`);
  const vpc = boot.lab.namespace('vpc');
  const bridge = (JSON.parse(run(['ip', '-j', '-n', vpc, 'route', 'get', nic.address]).stdout) as Array<{ dev: string }>)[0].dev;
  run(['ip', '-n', vpc, 'route', 'replace', 'default', 'via', nic.address, 'dev', bridge, 'onlink', 'table', VPC_PRIVATE_ROUTE_TABLE]);
}

function internetProbe(scenario: string, from: 'h1' | 'h2' | 'h3'): SourceIpProbe {
  return { scenario, from, protocol: 'tcp', host: LAB_ADDRESSES.internetServerIp, port: LAB_ADDRESSES.internetHttpPort };
}

function describeBoot(boot: SelfClaimBoot): string {
  return `exit ${boot.result.code}\nstdout:\n${boot.result.stdout}\nstderr:\n${boot.result.stderr}\nEC2 calls:\n${boot.doubles
    .ec2Calls()
    .map((call) => JSON.stringify(call))
    .join('\n')}`;
}

/** The calls the double recorded, reduced to what the assertions compare. */
function callSummary(calls: Ec2Call[]): Array<[string, string | null, string | null, string | null, string | null]> {
  return calls.map((call) => [call.action, call.routeTableId, call.destinationCidrBlock, call.networkInterfaceId, call.error]);
}

function expectPrivateHostsReachTheInternetThroughTheNat(scenario: string, lab: LabVpc): void {
  for (const host of lab.privateHosts) {
    expectSourceIp(
      lab,
      internetProbe(`${scenario}, ${host.node} (${host.subnet})`, host.node as 'h1' | 'h2' | 'h3'),
      LAB_ADDRESSES.natPublicIp,
    );
  }
}

/** A route table's default route in the emulator before the boot: to a stale interface, or none. */
type EmulatedDefaultRoute = 'stale' | 'none';

interface EmulatedSelfClaimBoot {
  readonly lab: LabVpc;
  readonly doubles: AwsDoubles;
  readonly moto: MotoServer;
  /** The route tables the settings name (the emulator's IDs, as Terraform renders them), in order. */
  readonly routeTableIds: string[];
  /** The NAT's interfaces, each with the ID of its emulated counterpart as `eni`. */
  readonly interfaces: Record<string, NatInterface>;
  /** The interface the route tables targeted before the boot. */
  readonly staleEni: string;
  readonly result: ReturnType<typeof run>;
}

interface EmulatedSelfClaimOptions {
  /** Per route table (by its position in the settings): its default route before the boot, or 'missing' (no such table). */
  readonly tables: (index: number) => EmulatedDefaultRoute | 'missing';
  /** The ENI ID the metadata double gives for the forwarding interface. @default its emulated interface */
  readonly forwardingEniInMetadata?: string;
}

/** An ID in the emulator's format that names nothing there. */
const UNKNOWN_ROUTE_TABLE = 'rtb-0000000000000000f';
const UNKNOWN_ENI = 'eni-0000000000000000f';
/** `${aws_route_table.<name>.id}` in the synthesized user data (not an escaped `$${…}`). */
const ROUTE_TABLE_REFERENCE = /(?<!\$)\$\{(aws_route_table\.[\w-]+\.id)\}/g;

/**
 * Builds a lab whose NAT comes from a self-claim NatInstance against the moto emulator: the lab's
 * VPC is created there (subnets, the NAT's interfaces, one route table per table the construct
 * names), the user data is rendered with the emulator's route-table IDs as Terraform would render
 * it, the metadata double maps the NAT's MAC addresses to the emulated interfaces, and the boot
 * script reaches moto through a bridge into the NAT namespace.
 */
async function bootSelfClaimOnMoto(mode: 'single' | 'dual', options: EmulatedSelfClaimOptions): Promise<EmulatedSelfClaimBoot> {
  const moto = await startMoto();
  current.moto = moto;
  const ec2 = <T = any>(...args: string[]): T => awsCli<T>(moto.clientEnv, ['ec2', ...args]);
  const vpcId = ec2('create-vpc', '--cidr-block', '10.8.0.0/16').Vpc.VpcId as string;
  const subnet = (cidr: string) =>
    ec2('create-subnet', '--vpc-id', vpcId, '--cidr-block', cidr, '--availability-zone', `${MOTO_ZONE}`).Subnet.SubnetId as string;
  const publicSubnet = subnet(LAB_ADDRESSES.natPublicSubnetIp.replace(/\.\d+$/, '.0/24'));
  const forwardingSubnet = subnet(LAB_ADDRESSES.natSecondaryIp.replace(/\.\d+$/, '.0/24'));
  const eni = (subnetId: string, address: string) =>
    ec2('create-network-interface', '--subnet-id', subnetId, '--private-ip-address', address).NetworkInterface.NetworkInterfaceId as string;
  const primaryEni = eni(publicSubnet, LAB_ADDRESSES.natPublicSubnetIp);
  const secondaryEni = eni(forwardingSubnet, LAB_ADDRESSES.natSecondaryIp);
  const staleEni = eni(forwardingSubnet, '10.8.1.99');

  const synthesized = synthesizeNatUserData({ mode, routeMode: 'self-claim' });
  const references = [...new Set([...synthesized.raw.matchAll(ROUTE_TABLE_REFERENCE)].map((match) => match[1]))];
  expect(references.length).toBeGreaterThanOrEqual(2);
  const routeTableIds = references.map((_, i) => {
    const before = options.tables(i);
    if (before === 'missing') return UNKNOWN_ROUTE_TABLE;
    const id = ec2('create-route-table', '--vpc-id', vpcId).RouteTable.RouteTableId as string;
    if (before === 'stale')
      ec2('create-route', '--route-table-id', id, '--destination-cidr-block', '0.0.0.0/0', '--network-interface-id', staleEni);
    return id;
  });
  const userData = evaluateTerraformString(
    synthesized.raw,
    Object.fromEntries(references.map((reference, i) => [reference, routeTableIds[i]])),
  );
  const lab = await createLabVpc({ mode, userData });
  current.lab = lab;
  expect(settingsRouteTableIds(lab)).toEqual(routeTableIds);

  const emulatedIds: Record<string, string> = { ens5: primaryEni, ens6: secondaryEni };
  const interfaces = Object.fromEntries(
    Object.values(natInterfaces(lab)).map((nic) => [nic.ifname, { ...nic, eni: emulatedIds[nic.ifname] }]),
  ) as Record<string, NatInterface>;
  const forwarding = interfaces[mode === 'dual' ? 'ens6' : 'ens5'];
  const metadataEni = (nic: NatInterface) =>
    nic === forwarding && options.forwardingEniInMetadata ? options.forwardingEniInMetadata : nic.eni;
  const bridge = await bridgeLoopbackPort(lab.namespace('nat'), moto.port);
  current.bridge = bridge;
  const doubles = await AwsDoubles.start({
    namespace: lab.namespace('nat'),
    instanceId: INSTANCE_ID,
    region: MOTO_REGION,
    interfaces: Object.fromEntries(Object.values(interfaces).map((nic) => [nic.mac, metadataEni(nic)])),
    ec2Endpoint: bridge.endpoint,
  });
  current.doubles = doubles;
  run(['ip', '-n', lab.namespace('vpc'), 'route', 'replace', 'unreachable', 'default', 'table', VPC_PRIVATE_ROUTE_TABLE]);
  const environment = Object.entries({ ...doubles.scriptEnvironment(), NAT_ROUTE_CLAIM_BACKOFF_MS: String(LAB_BACKOFF_MS) }).map(
    ([key, value]) => `${key}=${value}`,
  );
  const result = run(['env', ...environment, ...lab.bootScriptCommand()], { timeoutMs: 180_000, check: false });
  return { lab, doubles, moto, routeTableIds, interfaces, staleEni, result };
}

/** Route table → the ENI its 0.0.0.0/0 route targets in the emulator (null: none), read with the AWS CLI. */
function emulatedRouteTargets(boot: EmulatedSelfClaimBoot): Record<string, string | null> {
  const known = boot.routeTableIds.filter((id) => id !== UNKNOWN_ROUTE_TABLE);
  const tables = awsCli(boot.moto.clientEnv, ['ec2', 'describe-route-tables', '--route-table-ids', ...known]).RouteTables as any[];
  return Object.fromEntries(
    tables.map((table) => [
      table.RouteTableId,
      table.Routes.find((route: any) => route.DestinationCidrBlock === '0.0.0.0/0')?.NetworkInterfaceId ?? null,
    ]),
  );
}

function describeEmulatedBoot(boot: EmulatedSelfClaimBoot): string {
  return `exit ${boot.result.code}\nstdout:\n${boot.result.stdout}\nstderr:\n${boot.result.stderr}\nroutes: ${JSON.stringify(emulatedRouteTargets(boot))}`;
}

describe('route self-claim at boot against the emulated EC2 API (moto), IMDSv2 double, real AWS CLI', () => {
  it('replace succeeds (dual mode): every route table targets the forwarding interface ens6, and private hosts egress through the NAT', async () => {
    const scenario = 'self-claim on moto: replace succeeds';
    const boot = await bootSelfClaimOnMoto('dual', { tables: () => 'stale' });
    expectBootSuccess(scenario, boot.result);
    const forwarding = boot.interfaces.ens6;
    expect(forwarding.eni).not.toBe(boot.interfaces.ens5.eni);
    expect(emulatedRouteTargets(boot)).toEqual(Object.fromEntries(boot.routeTableIds.map((id) => [id, forwarding.eni])));
    for (const id of boot.routeTableIds)
      expect(boot.result.stdout).toContain(`route table ${id}: 0.0.0.0/0 -> ${forwarding.eni} (replaced)`);
    expect(boot.result.stdout).toContain(`claimed route tables ${boot.routeTableIds.join(' ')} for ${forwarding.eni}`);

    // IMDSv2: a token first (with its TTL header), then only token-bearing reads, all answered.
    const imds = boot.doubles.imdsCalls();
    expect(imds[0]).toEqual({ method: 'PUT', path: '/latest/api/token', status: 200, token: false });
    expect(imds.slice(1).map((call) => [call.method, call.path, call.status, call.token])).toEqual([
      ['GET', '/latest/meta-data/instance-id', 200, true],
      ['GET', '/latest/meta-data/placement/region', 200, true],
      ['GET', `/latest/meta-data/network/interfaces/macs/${forwarding.mac}/interface-id`, 200, true],
    ]);

    expectNoAnswer(boot.lab, internetProbe(`${scenario}: before the router follows the claim`, 'h1'));
    followClaimedRoutes(boot, emulatedRouteTargets(boot));
    expectPrivateHostsReachTheInternetThroughTheNat(scenario, boot.lab);
  });

  it('replace fails where there is no default route, create then works (single mode): routes to the primary interface, and private hosts egress through the NAT', async () => {
    const scenario = 'self-claim on moto: replace fails, create succeeds';
    const boot = await bootSelfClaimOnMoto('single', { tables: (i) => (i === 0 ? 'none' : 'stale') });
    expectBootSuccess(scenario, boot.result);
    const forwarding = boot.interfaces.ens5;
    const [created, ...replaced] = boot.routeTableIds;
    expect(boot.result.stdout).toContain(
      `route table ${created}: 0.0.0.0/0 -> ${forwarding.eni} (created: there was no default route to replace)`,
    );
    for (const id of replaced) expect(boot.result.stdout).toContain(`route table ${id}: 0.0.0.0/0 -> ${forwarding.eni} (replaced)`);
    expect(emulatedRouteTargets(boot)).toEqual(Object.fromEntries(boot.routeTableIds.map((id) => [id, forwarding.eni])));
    // Not a retry: the emulator answered replace-route with a non-transient error the first time.
    expect(boot.result.stdout).not.toContain('retrying in');

    expectNoAnswer(boot.lab, internetProbe(`${scenario}: before the router follows the claim`, 'h1'));
    followClaimedRoutes(boot, emulatedRouteTargets(boot));
    expectPrivateHostsReachTheInternetThroughTheNat(scenario, boot.lab);
  });

  it('a route to an interface EC2 does not know fails: one line naming the route table and both errors, at once, routes unchanged', async () => {
    const boot = await bootSelfClaimOnMoto('single', { tables: () => 'stale', forwardingEniInMetadata: UNKNOWN_ENI });
    const [first] = boot.routeTableIds;
    expect({ code: boot.result.code, boot: describeEmulatedBoot(boot) }).toEqual({ code: 1, boot: describeEmulatedBoot(boot) });
    expect(boot.result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(
          `^nat-instance: FAILED: cannot point route table ${first} at ${UNKNOWN_ENI}: replace-route: .*InvalidNetworkInterfaceID\\.NotFound.*; create-route: .*InvalidNetworkInterfaceID\\.NotFound`,
        ),
      ),
    ]);
    expect(boot.result.stdout).not.toContain('retrying in');
    expect(boot.result.stdout).not.toMatch(/ready in \d+s/);
    expect(emulatedRouteTargets(boot)).toEqual(Object.fromEntries(boot.routeTableIds.map((id) => [id, boot.staleEni])));
    // Control: the interface the metadata should have named is one the emulator knows.
    expect(
      awsCliResult(boot.moto.clientEnv, ['ec2', 'describe-network-interfaces', '--network-interface-ids', boot.interfaces.ens5.eni]).code,
    ).toBe(0);
  });

  it('an unknown route table fails with errors that are not transient: the script stops there, at once, with one line naming it and both errors', async () => {
    const boot = await bootSelfClaimOnMoto('single', { tables: (i) => (i === 1 ? 'missing' : 'stale') });
    const [claimed, unknown] = boot.routeTableIds;
    const eni = boot.interfaces.ens5.eni;
    expect(unknown).toBe(UNKNOWN_ROUTE_TABLE);
    expect({ code: boot.result.code, boot: describeEmulatedBoot(boot) }).toEqual({ code: 1, boot: describeEmulatedBoot(boot) });
    expect(boot.result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(
          `^nat-instance: FAILED: cannot point route table ${unknown} at ${eni}: replace-route: .*InvalidRouteTableID\\.NotFound.*; create-route: .*InvalidRouteTableID\\.NotFound`,
        ),
      ),
    ]);
    expect(boot.result.stdout).not.toMatch(/ready in \d+s/);
    expect(boot.result.stdout).not.toContain('claimed route tables');
    expect(boot.result.stdout).not.toContain('retrying in');
    // The tables before it point at the working NAT; the ones after it are untouched.
    const after = boot.routeTableIds.slice(2);
    expect(emulatedRouteTargets(boot)).toEqual({ [claimed]: eni, ...Object.fromEntries(after.map((id) => [id, boot.staleEni])) });
    expect(boot.lab.natLog()).toContain(`FAILED: cannot point route table ${unknown}`);
  });
});

describe('route self-claim at boot, IMDSv2 and EC2 API doubles (what moto cannot do), real AWS CLI', () => {
  it('a refused port forward does not stop the claim (dual mode): exit 2 with the REFUSED line, every route table claimed, egress through the NAT', async () => {
    const scenario = 'self-claim with a refused forward';
    const badForward = 'NAT_PORT_FORWARD=tcp 2222 10.8.2.1 22 preserve 203.0.113.5/32';
    const boot = await bootSelfClaim('dual', (ids) => Object.fromEntries(ids.map((id) => [id, { defaultRoute: STALE_ENI }])), {
      extraSettings: `${badForward}\n`,
    });
    expect({ code: boot.result.code, boot: describeBoot(boot) }).toEqual({ code: 2, boot: describeBoot(boot) });
    expect(boot.result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^nat-instance: REFUSED: setting NAT_PORT_FORWARD 'tcp 2222 10\.8\.2\.1 .*the VPC router of 10\.8\.2\.0\/24/),
    ]);
    const forwarding = boot.interfaces.ens6;
    expect(boot.doubles.routeTargets()).toEqual(Object.fromEntries(boot.routeTableIds.map((id) => [id, forwarding.eni])));
    expect(boot.result.stdout.trim().split('\n').pop()).toMatch(
      /^nat-instance: degraded in \d+s \(egress ready; 1 optional setting\(s\) REFUSED\): .*routes by self-claim/,
    );
    followClaimedRoutes(boot, boot.doubles.routeTargets());
    expectPrivateHostsReachTheInternetThroughTheNat(scenario, boot.lab);
  });

  it('the IMDSv2 double refuses a read without a token and a token request without a TTL', async () => {
    const lab = await createLabVpc({ mode: 'single', natProps: { routeMode: 'self-claim' } });
    current.lab = lab;
    const doubles = await AwsDoubles.start({
      namespace: lab.namespace('nat'),
      instanceId: INSTANCE_ID,
      region: REGION,
      interfaces: { '02:00:00:00:00:01': 'eni-0000000000000001' },
      routeTables: {},
    });
    current.doubles = doubles;
    const status = (args: string[]) =>
      lab.exec('nat', ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', ...args], { check: false }).stdout;
    expect(status([`http://${IMDS_ADDRESS}/latest/meta-data/instance-id`])).toBe('401');
    expect(status(['-H', 'X-aws-ec2-metadata-token: forged', `http://${IMDS_ADDRESS}/latest/meta-data/instance-id`])).toBe('401');
    expect(status(['-X', 'PUT', `http://${IMDS_ADDRESS}/latest/api/token`])).toBe('400');
    const token = lab.exec('nat', [
      'curl',
      '-s',
      '-f',
      '-X',
      'PUT',
      '-H',
      'X-aws-ec2-metadata-token-ttl-seconds: 60',
      `http://${IMDS_ADDRESS}/latest/api/token`,
    ]).stdout;
    const read = lab.exec('nat', [
      'curl',
      '-s',
      '-f',
      '-H',
      `X-aws-ec2-metadata-token: ${token}`,
      `http://${IMDS_ADDRESS}/latest/meta-data/instance-id`,
    ]);
    expect(read.stdout).toBe(INSTANCE_ID);
  });

  it('transient refusals (IAM not yet visible, throttling, 5xx) are retried with doubling waits, then both route tables are claimed (single mode)', async () => {
    const scenario = 'self-claim: refused at first, then claimed';
    // Call by call: replace refused; replace answered "no route"; create refused four times; create succeeds.
    const refusals: Array<Ec2Refusal | null> = [
      'UnauthorizedOperation',
      null,
      'RequestLimitExceeded',
      'Unavailable',
      'InternalError',
      'HTTP503',
    ];
    const boot = await bootSelfClaim(
      'single',
      (ids) => Object.fromEntries(ids.map((id, i) => [id, { defaultRoute: i === 0 ? null : STALE_ENI }])),
      { refusals },
    );
    expectBootSuccess(scenario, boot.result);
    const [first, ...others] = boot.routeTableIds;
    const eni = boot.interfaces.ens5.eni;

    expect(callSummary(boot.doubles.ec2Calls())).toEqual([
      ['ReplaceRoute', first, '0.0.0.0/0', eni, 'UnauthorizedOperation'],
      ['ReplaceRoute', first, '0.0.0.0/0', eni, 'InvalidRoute.NotFound'],
      ['CreateRoute', first, '0.0.0.0/0', eni, 'RequestLimitExceeded'],
      ['CreateRoute', first, '0.0.0.0/0', eni, 'Unavailable'],
      ['CreateRoute', first, '0.0.0.0/0', eni, 'InternalError'],
      ['CreateRoute', first, '0.0.0.0/0', eni, 'HTTP503'],
      ['CreateRoute', first, '0.0.0.0/0', eni, null],
      ...others.map((id) => ['ReplaceRoute', id, '0.0.0.0/0', eni, null]),
    ]);
    // One attempt per CLI call: the script's retries are the only ones (the CLI's own are off).
    expect(boot.doubles.ec2Calls().map((call) => call.status)).toEqual([403, 400, 503, 503, 500, 503, 200, ...others.map(() => 200)]);
    const retries = boot.result.stdout.split('\n').filter((line) => line.includes('retrying in'));
    expect(retries).toEqual([
      `nat-instance: route table ${first}: replace-route refused (UnauthorizedOperation), attempt 1 of ${CLAIM_ATTEMPTS}; retrying in 0.050s`,
      `nat-instance: route table ${first}: create-route refused (RequestLimitExceeded), attempt 2 of ${CLAIM_ATTEMPTS}; retrying in 0.100s`,
      `nat-instance: route table ${first}: create-route refused (Unavailable), attempt 3 of ${CLAIM_ATTEMPTS}; retrying in 0.200s`,
      `nat-instance: route table ${first}: create-route refused (InternalError), attempt 4 of ${CLAIM_ATTEMPTS}; retrying in 0.400s`,
      `nat-instance: route table ${first}: create-route refused (503), attempt 5 of ${CLAIM_ATTEMPTS}; retrying in 0.800s`,
    ]);
    expect(boot.result.stdout).toContain(`route table ${first}: 0.0.0.0/0 -> ${eni} (created`);
    expect(boot.doubles.routeTargets()).toEqual(Object.fromEntries(boot.routeTableIds.map((id) => [id, eni])));

    followClaimedRoutes(boot, boot.doubles.routeTargets());
    expectPrivateHostsReachTheInternetThroughTheNat(scenario, boot.lab);
  });

  it(`control: refusals that outlast ${CLAIM_ATTEMPTS} attempts fail the boot with one line after bounded waits, and no success summary`, async () => {
    const boot = await bootSelfClaim('single', (ids) => Object.fromEntries(ids.map((id) => [id, { defaultRoute: STALE_ENI }])), {
      refusals: Array<Ec2Refusal>(CLAIM_ATTEMPTS + 4).fill('UnauthorizedOperation'),
    });
    const [first] = boot.routeTableIds;
    const eni = boot.interfaces.ens5.eni;
    expect({ code: boot.result.code, boot: describeBoot(boot) }).toEqual({ code: 1, boot: describeBoot(boot) });

    // Waits 50, 100, 200, 400, 800, then 1600 (32 x 50) twice: 4.75 s.
    const stderrLines = boot.result.stderr.trim().split('\n');
    expect(stderrLines).toEqual([
      expect.stringMatching(
        new RegExp(
          `^nat-instance: FAILED: cannot point route table ${first} at ${eni}: replace-route still refused after ${CLAIM_ATTEMPTS} attempts ` +
            `and 4\\.750s of waiting \\(IAM changes can take minutes to reach EC2\\): An error occurred \\(UnauthorizedOperation\\) when calling the ReplaceRoute operation`,
        ),
      ),
    ]);
    expect(boot.result.stdout.split('\n').filter((line) => line.includes('retrying in'))).toHaveLength(CLAIM_ATTEMPTS - 1);
    expect(boot.result.stdout).not.toMatch(/ready in \d+s/);
    expect(callSummary(boot.doubles.ec2Calls())).toEqual(
      Array.from({ length: CLAIM_ATTEMPTS }, () => ['ReplaceRoute', first, '0.0.0.0/0', eni, 'UnauthorizedOperation']),
    );
    expect(boot.doubles.routeTargets()).toEqual(Object.fromEntries(boot.routeTableIds.map((id) => [id, STALE_ENI])));
    expect(boot.lab.natLog()).toContain(
      `FAILED: cannot point route table ${first} at ${eni}: replace-route still refused after ${CLAIM_ATTEMPTS} attempts`,
    );
  });

  it('a bad NAT_ROUTE_CLAIM_BACKOFF_MS stops the script before it changes anything, with one line naming it', async () => {
    const boot = await bootSelfClaim('single', (ids) => Object.fromEntries(ids.map((id) => [id, { defaultRoute: STALE_ENI }])), {
      environment: { NAT_ROUTE_CLAIM_BACKOFF_MS: '0' },
    });
    expect({ code: boot.result.code, boot: describeBoot(boot) }).toEqual({ code: 1, boot: describeBoot(boot) });
    expect(boot.result.stderr.trim().split('\n')).toEqual([
      "nat-instance: FAILED: environment NAT_ROUTE_CLAIM_BACKOFF_MS must be an integer from 1 to 60000 (milliseconds), got '0'",
    ]);
    expect(boot.lab.exec('nat', ['nft', 'list', 'table', 'ip', 'nat_instance'], { check: false }).code).not.toBe(0);
    expect(boot.doubles.imdsCalls()).toEqual([]);
    expect(boot.doubles.ec2Calls()).toEqual([]);
  });

  it('metadata without the forwarding interface: non-zero exit after bounded retries, one line, no EC2 call', async () => {
    const boot = await bootSelfClaim('dual', (ids) => Object.fromEntries(ids.map((id) => [id, { defaultRoute: STALE_ENI }])), {
      knownToMetadata: (nic) => nic.ifname !== 'ens6',
    });
    const mac = boot.interfaces.ens6.mac;
    expect({ code: boot.result.code, boot: describeBoot(boot) }).toEqual({ code: 1, boot: describeBoot(boot) });
    expect(boot.result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(
          `^nat-instance: FAILED: instance metadata meta-data/network/interfaces/macs/${mac}/interface-id: no valid value after \\d+ attempts`,
        ),
      ),
    ]);
    expect(boot.result.stdout).not.toMatch(/ready in \d+s/);
    const lookups = boot.doubles.imdsCalls().filter((call) => call.path.endsWith(`${mac}/interface-id`));
    expect(lookups.length).toBeGreaterThan(1);
    expect(lookups.every((call) => call.status === 404 && call.token)).toBe(true);
    expect(boot.doubles.ec2Calls()).toEqual([]);
    expect(boot.doubles.routeTargets()).toEqual(Object.fromEntries(boot.routeTableIds.map((id) => [id, STALE_ENI])));
  });
});
