/**
 * The NAT-group lab: two zones, a NAT namespace per zone running the boot script and the health
 * agent from a synthesized NatGroup's launch-template user data, and moto (the API emulator) as
 * EC2 and SSM — reached by the real AWS CLI through a recording, fault-injecting proxy. The VPC
 * router and the internet gateway follow what the API says (group_lab_aws.py `follow`): a route
 * replaced through the API moves packets, an Elastic IP associated through the API changes what
 * the internet sees.
 *
 * ```
 *  internet ns  198.51.100.10 what-is-my-IP (:80); 198.51.100.20 the AWS endpoint (proxy → moto)
 *     │
 *  igw ns       1:1 NAT Elastic IP ↔ private address, as moto's associations say
 *     │
 *  vpc ns       bridges a-pub 10.8.0.0/24, a-priv 10.8.1.0/24, b-pub 10.8.10.0/24, b-priv 10.8.11.0/24;
 *               a-priv → kernel table 101 (route table of zone a), b-priv → 102 (zone b), as moto's
 *     ├── nat-a (ens5 10.8.0.10)   ├── host-a 10.8.1.20
 *     └── nat-b (ens5 10.8.10.10)  └── host-b 10.8.11.20
 * ```
 * The IMDSv2 double (doubles/imds_double.py) gives each NAT namespace its identity.
 */
import { ChildProcess, spawn } from 'child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { TerraformStack, Testing } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { HealthCheckSettings, heartbeatParameterName, METRICS_NAMESPACE, NatGroup, natGroupMembersByZone } from '../../../modules/nat';
import { Network } from '../../../modules/vpc';
import { run, runAsync, CommandResult, sleep } from './shell';
import { buildRegistered } from './build-registered';
import { evaluateTerraformString } from './terraform-string-double';
import { parseCloudConfigFiles, CloudConfigFile } from './synthesized-user-data';

export type MemberName = 'a' | 'b';

const HARNESS = __dirname;
const IMDS_DOUBLE = join(__dirname, '..', 'doubles', 'imds_double.py');
const REGION = 'eu-central-1';
const GROUP = 'lab';

export const GROUP_LAB = {
  vpcCidr: '10.8.0.0/16',
  internetServerIp: '198.51.100.10',
  awsEndpointIp: '198.51.100.20',
  members: {
    a: {
      zone: `${REGION}a`,
      publicSubnet: '10.8.0.0/24',
      privateSubnet: '10.8.1.0/24',
      natIp: '10.8.0.10',
      hostIp: '10.8.1.20',
      kernelTable: '101',
      elasticIp: '203.0.113.10',
    },
    b: {
      zone: `${REGION}b`,
      publicSubnet: '10.8.10.0/24',
      privateSubnet: '10.8.11.0/24',
      natIp: '10.8.10.10',
      hostIp: '10.8.11.20',
      kernelTable: '102',
      elasticIp: '203.0.113.11',
    },
  },
} as const;

/**
 * The agents' timing in the lab: the defaults' shape with shorter holds. Rounds are not shortened
 * below 2 s: each costs two AWS CLI processes per NAT, and the lab shares its CPUs.
 */
export const LAB_HEALTH_CHECK: HealthCheckSettings = {
  intervalSeconds: 2,
  failures: 2,
  recoveries: 2,
  peerDeadSeconds: 6,
  failbackHoldSeconds: 4,
  tableWriteHoldSeconds: 4,
  probeUrl: `http://${GROUP_LAB.internetServerIp}/`,
};

interface MemberIds {
  readonly publicSubnetId: string;
  readonly privateSubnetId: string;
  readonly routeTableId: string;
  readonly allocationId: string;
  readonly elasticIp: string;
  readonly launchTemplateId: string;
}

/** A NAT instance of the lab: an instance moto launched from the member's template, and its namespace. */
export interface LabNat {
  readonly member: MemberName;
  readonly namespace: string;
  readonly instanceId: string;
  readonly eni: string;
  readonly address: string;
  readonly disk: string;
  agent?: ChildProcess;
}

export interface ApiCall {
  readonly time: number;
  readonly service: string;
  readonly action: string;
  /** EC2 route calls: the route table. */
  readonly table: string | null;
  /** The caller as the internet sees it: a NAT's Elastic IP once it holds one. */
  readonly client: string;
  readonly status: number;
  readonly fault: string | null;
}

let labCounter = 0;
const liveGroupLabs = new Set<GroupLab>();

export class GroupLab {
  readonly prefix: string;
  readonly work: string;
  ids!: Record<MemberName, MemberIds>;
  readonly nats: Partial<Record<MemberName, LabNat>> = {};
  private readonly namespaces: string[] = [];
  private readonly processes: ChildProcess[] = [];
  private motoPort = 0;
  private natCounter = 0;

  constructor(private readonly healthCheck: HealthCheckSettings) {
    labCounter += 1;
    this.prefix = `ng${process.pid.toString(36)}x${labCounter.toString(36)}`;
    this.work = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), `${this.prefix}-`));
  }

  ns(node: string): string {
    return `${this.prefix}-${node}`;
  }

  async build(): Promise<void> {
    for (const node of ['internet', 'igw', 'vpc', 'host-a', 'host-b']) this.addNamespace(node);
    this.buildNetwork();
    await this.startProcess(
      'internet',
      ['python3', join(HARNESS, 'whoami.py'), 'serve', '--bind', GROUP_LAB.internetServerIp, '--http', '80'],
      /ready/,
    );
    this.motoPort = 5000;
    await this.startProcess(
      'internet',
      ['moto_server', '-H', '127.0.0.1', '-p', String(this.motoPort)],
      /Running on|Press CTRL\+C/,
      60_000,
    );
    await this.startProcess(
      'internet',
      [
        'python3',
        join(HARNESS, 'group_lab_aws.py'),
        'proxy',
        '--address',
        GROUP_LAB.awsEndpointIp,
        '--moto-port',
        String(this.motoPort),
        '--record',
        this.path('api.record'),
        '--fault-file',
        this.path('fault'),
      ],
      /^ready /m,
    );
    const spec = {
      vpcCidr: GROUP_LAB.vpcCidr,
      members: (['a', 'b'] as const).map((name) => ({
        name,
        zone: GROUP_LAB.members[name].zone,
        publicSubnet: GROUP_LAB.members[name].publicSubnet,
        privateSubnet: GROUP_LAB.members[name].privateSubnet,
        heartbeatParameter: heartbeatParameterName(GROUP, name),
        elasticIp: GROUP_LAB.members[name].elasticIp,
      })),
    };
    this.ids = JSON.parse(this.aws(['setup'], JSON.stringify(spec)).stdout).members;
    const followSpec = {
      vpc: this.ns('vpc'),
      igw: this.ns('igw'),
      tables: { [this.ids.a.routeTableId]: GROUP_LAB.members.a.kernelTable, [this.ids.b.routeTableId]: GROUP_LAB.members.b.kernelTable },
      bridges: { '10.8.0': 'a-pub', '10.8.1': 'a-priv', '10.8.10': 'b-pub', '10.8.11': 'b-priv' },
    };
    await this.startProcess(
      'internet',
      [
        'python3',
        join(HARNESS, 'group_lab_aws.py'),
        'follow',
        '--moto-port',
        String(this.motoPort),
        '--spec',
        JSON.stringify(followSpec),
        '--changes',
        this.path('changes'),
      ],
      /ready follower/,
    );
    for (const member of ['a', 'b'] as const) {
      this.aws(['set-user-data', '--template', this.ids[member].launchTemplateId], this.memberUserData(member));
    }
  }

  /** What the Auto Scaling group does: launches an instance of the member from its template, and plugs its namespace in. */
  async launch(member: MemberName, address: string = GROUP_LAB.members[member].natIp): Promise<LabNat> {
    const launched = JSON.parse(
      this.aws([
        'launch',
        '--template',
        this.ids[member].launchTemplateId,
        '--subnet',
        this.ids[member].publicSubnetId,
        '--address',
        address,
      ]).stdout,
    ) as { instanceId: string; eni: string; mac: string; address: string; userData: string };
    this.natCounter += 1;
    const node = `nat${this.natCounter}`;
    this.addNamespace(node);
    const namespace = this.ns(node);
    const bridge = `${member}-pub`;
    run(['ip', 'link', 'add', 'name', 'ens5', 'netns', namespace, 'type', 'veth', 'peer', 'name', `${node}p`, 'netns', this.ns('vpc')]);
    run(['ip', '-n', this.ns('vpc'), 'link', 'set', `${node}p`, 'master', bridge, 'up']);
    run(['ip', '-n', namespace, 'link', 'set', 'ens5', 'address', launched.mac]);
    run(['ip', '-n', namespace, 'address', 'add', `${launched.address}/24`, 'dev', 'ens5']);
    run(['ip', '-n', namespace, 'link', 'set', 'ens5', 'up']);
    run(['ip', '-n', namespace, 'route', 'add', 'default', 'via', gateway(launched.address), 'dev', 'ens5', 'metric', '512']);
    const disk = join(this.work, `${node}-disk`);
    for (const file of parseCloudConfigFiles(launched.userData)) this.writeDiskFile(disk, file);
    const imds = this.path(`${node}-imds.json`);
    writeFileSync(imds, JSON.stringify({ instanceId: launched.instanceId, region: REGION, interfaces: { [launched.mac]: launched.eni } }));
    run(['ip', '-n', namespace, 'address', 'add', '169.254.169.254/32', 'dev', 'lo']);
    await this.startProcess(
      node,
      [
        'python3',
        IMDS_DOUBLE,
        '--address',
        '169.254.169.254',
        '--port',
        '80',
        '--config',
        imds,
        '--record',
        this.path(`${node}-imds.record`),
      ],
      /^ready /m,
    );
    const nat: LabNat = { member, namespace, instanceId: launched.instanceId, eni: launched.eni, address: launched.address, disk };
    this.nats[member] = nat;
    return nat;
  }

  /** Runs the boot script (cloud-init's per-boot stage) of a NAT, as the instance would at boot. */
  boot(nat: LabNat, timeoutMs = 120_000): Promise<CommandResult> {
    const mounts = ['etc', 'var']
      .map(
        (dir) =>
          `mkdir -p ${nat.disk}/${dir}/upper ${nat.disk}/${dir}/work && mount -t overlay overlay -o lowerdir=/${dir},upperdir=${nat.disk}/${dir}/upper,workdir=${nat.disk}/${dir}/work /${dir}`,
      )
      .join(' && ');
    return runAsync(
      [
        'ip',
        'netns',
        'exec',
        nat.namespace,
        'env',
        ...this.awsEnvironment(),
        'unshare',
        '--mount',
        '--propagation',
        'private',
        'bash',
        '-c',
        `${mounts} && exec "$0"`,
        '/var/lib/cloud/scripts/per-boot/nat-instance.sh',
      ],
      { timeoutMs },
    );
  }

  /** Starts the health agent as its systemd unit would, with its files read from the NAT's disk. */
  startAgent(nat: LabNat): void {
    const disk = (path: string) => join(nat.disk, path.startsWith('/etc') ? 'etc' : 'var', 'upper', path.replace(/^\/(etc|var)/, ''));
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        nat.namespace,
        'env',
        ...this.awsEnvironment(),
        `NAT_HEALTH_SETTINGS_FILE=${disk('/etc/nat-instance/health-agent')}`,
        `NAT_BOOT_SETTINGS_FILE=${disk('/etc/nat-instance/settings')}`,
        `NAT_HEALTH_LOG_FILE=${disk('/var/log/nat-health-agent.log')}`,
        `NAT_HEALTH_STATE_FILE=${disk('/var/run/nat-instance/health-agent.state')}`,
        'bash',
        join(nat.disk, 'usr', 'local', 'sbin', 'nat-health-agent'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // stdout repeats the log file; stderr is kept for a failure's message.
    const output = join(nat.disk, 'agent.stderr');
    child.stdout!.resume();
    child.stderr!.on('data', (chunk: Buffer) => writeFileSync(output, chunk, { flag: 'a' }));
    this.processes.push(child);
    nat.agent = child;
  }

  /** The agent's log (one line per decision). */
  agentLog(nat: LabNat): string {
    const file = join(nat.disk, 'var', 'upper', 'log', 'nat-health-agent.log');
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  }

  agentState(nat: LabNat): Record<string, string> {
    const file = join(nat.disk, 'var', 'upper', 'run', 'nat-instance', 'health-agent.state');
    if (!existsSync(file)) return {};
    return Object.fromEntries(
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => /^\w+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
  }

  /** The source address the internet sees for a request from the member's private host, or undefined. */
  egress(member: MemberName): string | undefined {
    const result = run(
      [
        'ip',
        'netns',
        'exec',
        this.ns(`host-${member}`),
        'curl',
        '-sS',
        '--connect-timeout',
        '1',
        '--max-time',
        '2',
        `http://${GROUP_LAB.internetServerIp}/`,
      ],
      { check: false, timeoutMs: 5_000 },
    );
    const answer = result.stdout.trim();
    return result.code === 0 && /^\d+\.\d+\.\d+\.\d+$/.test(answer) ? answer : undefined;
  }

  /** Polls egress until it leaves with `expected` (returns the seconds it took) or the hang guard expires. */
  async waitForEgress(member: MemberName, expected: string, guardMs = 60_000, pollMs = 200): Promise<number> {
    const start = Date.now();
    let seen: string | undefined;
    while (Date.now() - start < guardMs) {
      seen = this.egress(member);
      if (seen === expected) return (Date.now() - start) / 1000;
      await sleep(pollMs);
    }
    throw new Error(
      `egress of host-${member} never left as ${expected} within ${guardMs / 1000}s (last: ${seen ?? 'no answer'})\n${this.describe()}`,
    );
  }

  /** The kernel route of a member's private route table in the VPC router (what the follower applied). */
  vpcRoute(member: MemberName): string {
    return run(['ip', '-n', this.ns('vpc'), 'route', 'show', 'table', GROUP_LAB.members[member].kernelTable]).stdout.trim();
  }

  /** Every API call the NATs made (through the proxy). */
  apiCalls(): ApiCall[] {
    const file = this.path('api.record');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as ApiCall);
  }

  routeWrites(since = 0): ApiCall[] {
    return this.apiCalls().filter((call) => call.time >= since && (call.action === 'ReplaceRoute' || call.action === 'CreateRoute'));
  }

  /** What the emulated CloudWatch holds for a member's NAT (`NatName` = `<group>-<member>`), by metric. */
  metrics(member: MemberName): Record<string, { min: number; max: number; count: number }> {
    return JSON.parse(this.aws(['metrics', '--namespace', METRICS_NAMESPACE, '--name', `${GROUP}-${member}`]).stdout);
  }

  /** `throttle`, `fail` or null: what the proxy does to the NATs' calls from now on. */
  setFault(fault: 'throttle' | 'fail' | null): void {
    writeFileSync(this.path('fault'), fault ?? '');
  }

  /** A NAT failure as EC2 sees it: the instance terminated (its namespace, agent and interfaces are gone). */
  terminate(nat: LabNat): void {
    nat.agent?.kill('SIGKILL');
    this.aws(['terminate', '--instance', nat.instanceId]);
    this.killNamespace(nat.namespace);
  }

  exec(namespace: string, argv: string[]): CommandResult {
    return run(['ip', 'netns', 'exec', namespace, ...argv], { check: false });
  }

  describe(): string {
    const stderrOf = (nat: LabNat) =>
      existsSync(join(nat.disk, 'agent.stderr')) ? readFileSync(join(nat.disk, 'agent.stderr'), 'utf8').slice(-1500) : '';
    const nats = Object.values(this.nats).map(
      (nat) =>
        `--- ${nat!.member} (${nat!.instanceId}) agent log (exit ${nat!.agent?.exitCode ?? 'running'}) ---\n${this.agentLog(nat!).split('\n').slice(-15).join('\n')}\n${stderrOf(nat!)}`,
    );
    const changes = existsSync(this.path('changes')) ? readFileSync(this.path('changes'), 'utf8').split('\n').slice(-10).join('\n') : '';
    return [`vpc table a: ${this.vpcRoute('a')}; b: ${this.vpcRoute('b')}`, ...nats, `--- follower ---\n${changes}`].join('\n');
  }

  teardown(): void {
    for (const child of this.processes.splice(0)) {
      if (child.exitCode === null && child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    for (const ns of this.namespaces.splice(0).reverse()) this.killNamespace(ns);
    rmSync(this.work, { recursive: true, force: true });
  }

  // ------------------------------------------------------------------------------------------

  private path(name: string): string {
    return join(this.work, name);
  }

  /** The AWS CLI's environment on a NAT: the emulator's endpoint and test credentials. */
  private awsEnvironment(): string[] {
    const endpoint = `http://${GROUP_LAB.awsEndpointIp}`;
    return [
      'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
      `AWS_ENDPOINT_URL_EC2=${endpoint}`,
      `AWS_ENDPOINT_URL_SSM=${endpoint}`,
      `AWS_ENDPOINT_URL_CLOUDWATCH=${endpoint}`,
      'AWS_ACCESS_KEY_ID=testing',
      'AWS_SECRET_ACCESS_KEY=testing',
      'AWS_CONFIG_FILE=/dev/null',
      'AWS_SHARED_CREDENTIALS_FILE=/dev/null',
      'AWS_EC2_METADATA_DISABLED=true',
      `HOME=${this.work}`,
    ];
  }

  /** group_lab_aws.py in the internet namespace (where moto listens). */
  private aws(args: string[], input?: string): CommandResult {
    const [command, ...rest] = args;
    return run(
      [
        'ip',
        'netns',
        'exec',
        this.ns('internet'),
        'python3',
        join(HARNESS, 'group_lab_aws.py'),
        command,
        '--moto-port',
        String(this.motoPort),
        ...rest,
      ],
      {
        input,
        timeoutMs: 120_000,
      },
    );
  }

  /**
   * The member's launch-template user data: a NatGroup synthesized in-process over the lab's
   * layout, read back from the JSON and evaluated as Terraform would with moto's IDs.
   */
  private memberUserData(member: MemberName): string {
    const stack = new TerraformStack(Testing.app(), 'nat-group-lab');
    new AwsProvider(stack, 'aws', { region: REGION });
    const network = new Network(stack, 'network', {
      cidr: GROUP_LAB.vpcCidr,
      azs: [GROUP_LAB.members.a.zone, GROUP_LAB.members.b.zone],
      publicSubnets: [GROUP_LAB.members.a.publicSubnet, GROUP_LAB.members.b.publicSubnet],
      privateSubnets: [GROUP_LAB.members.a.privateSubnet, GROUP_LAB.members.b.privateSubnet],
      privateRouteTables: 'per-az',
    });
    new NatGroup(stack, 'group', {
      name: GROUP,
      vpcId: network.vpcId,
      privateSubnets: network.privateSubnets,
      members: natGroupMembersByZone(network),
      healthCheck: this.healthCheck,
      natProps: { amiId: 'ami-0123456789abcdef0', interfaceWaitSeconds: 10 },
    });
    const json = JSON.parse(Testing.synth(stack, true)) as {
      locals: Record<string, string>;
      resource: Record<string, Record<string, any>>;
    };
    const template = Object.values(json.resource.aws_launch_template).find((t) => t.name_prefix === `${GROUP}-${member}-`);
    const local = /^\$\{base64gzip\(local\.([\w-]+)\)\}$/.exec(template.user_data)![1];
    const raw = json.locals[local];
    const values: Record<string, string> = {};
    for (const [, reference] of raw.matchAll(/\$\{(aws_[a-z0-9_]+\.[\w-]+\.[a-z_]+)\}/g)) {
      if (/^aws_route_table\.network_private-rt-0_/.test(reference)) values[reference] = this.ids.a.routeTableId;
      else if (/^aws_route_table\.network_private-rt-1_/.test(reference)) values[reference] = this.ids.b.routeTableId;
      else if (/^aws_eip\.group_a_eip_\w+\.allocation_id$/.test(reference)) values[reference] = this.ids.a.allocationId;
      else if (/^aws_eip\.group_b_eip_\w+\.allocation_id$/.test(reference)) values[reference] = this.ids.b.allocationId;
      else throw new Error(`the lab has no value for ${reference}`);
    }
    return evaluateTerraformString(raw, values);
  }

  private writeDiskFile(disk: string, file: CloudConfigFile): void {
    const match = /^\/(etc|var|usr)(\/.*)$/.exec(file.path);
    if (!match) throw new Error(`the lab NAT's disk holds /etc, /var and /usr only, not ${file.path}`);
    // /usr/local/sbin/… is not overlay-mounted: the agent runs straight from the disk.
    const target = match[1] === 'usr' ? join(disk, 'usr', match[2]) : join(disk, match[1], 'upper', match[2]);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.content);
    chmodSync(target, parseInt(file.permissions, 8));
  }

  private addNamespace(node: string): void {
    run(['ip', 'netns', 'add', this.ns(node)]);
    this.namespaces.push(this.ns(node));
    run(['ip', '-n', this.ns(node), 'link', 'set', 'lo', 'up']);
  }

  private killNamespace(ns: string): void {
    const pids = run(['ip', 'netns', 'pids', ns], { check: false }).stdout.split(/\s+/).filter(Boolean);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    run(['ip', 'netns', 'del', ns], { check: false });
    const index = this.namespaces.indexOf(ns);
    if (index >= 0) this.namespaces.splice(index, 1);
  }

  private buildNetwork(): void {
    const vpc = this.ns('vpc');
    const ip = (ns: string, ...args: string[]) => run(['ip', '-n', ns, ...args]);
    const sysctl = (ns: string, key: string) => run(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', `${key}=1`]);
    sysctl(vpc, 'net.ipv4.ip_forward');
    ['a-pub', 'a-priv', 'b-pub', 'b-priv'].forEach((bridge, i) => {
      const subnet = [
        GROUP_LAB.members.a.publicSubnet,
        GROUP_LAB.members.a.privateSubnet,
        GROUP_LAB.members.b.publicSubnet,
        GROUP_LAB.members.b.privateSubnet,
      ][i];
      ip(vpc, 'link', 'add', bridge, 'address', `0e:00:00:00:02:0${i}`, 'type', 'bridge');
      ip(vpc, 'address', 'add', `${gateway(subnet)}/24`, 'dev', bridge);
      ip(vpc, 'link', 'set', bridge, 'up');
    });
    run(['ip', 'link', 'add', 'name', 'igw', 'netns', vpc, 'type', 'veth', 'peer', 'name', 'vpc', 'netns', this.ns('igw')]);
    ip(vpc, 'address', 'add', '100.64.0.1/30', 'dev', 'igw');
    ip(vpc, 'link', 'set', 'igw', 'up');
    ip(vpc, 'route', 'add', 'default', 'via', '100.64.0.2');
    for (const member of ['a', 'b'] as const) {
      const { kernelTable } = GROUP_LAB.members[member];
      ip(vpc, 'rule', 'add', 'pref', '200', 'iif', `${member}-priv`, 'lookup', kernelTable);
      // No route until the API says so (the follower writes it).
      ip(vpc, 'route', 'add', 'blackhole', 'default', 'table', kernelTable);
    }
    const igw = this.ns('igw');
    sysctl(igw, 'net.ipv4.ip_forward');
    ip(igw, 'address', 'add', '100.64.0.2/30', 'dev', 'vpc');
    ip(igw, 'link', 'set', 'vpc', 'up');
    run(['ip', 'link', 'add', 'name', 'internet', 'netns', igw, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.ns('internet')]);
    ip(igw, 'address', 'add', '198.51.100.1/24', 'dev', 'internet');
    ip(igw, 'link', 'set', 'internet', 'up');
    ip(igw, 'route', 'add', GROUP_LAB.vpcCidr, 'via', '100.64.0.1');
    const internet = this.ns('internet');
    ip(internet, 'address', 'add', `${GROUP_LAB.internetServerIp}/24`, 'dev', 'eth0');
    ip(internet, 'address', 'add', `${GROUP_LAB.awsEndpointIp}/24`, 'dev', 'eth0');
    ip(internet, 'link', 'set', 'eth0', 'up');
    ip(internet, 'route', 'add', 'default', 'via', '198.51.100.1');
    for (const member of ['a', 'b'] as const) {
      const host = this.ns(`host-${member}`);
      const { hostIp, privateSubnet } = GROUP_LAB.members[member];
      run(['ip', 'link', 'add', 'name', 'eth0', 'netns', host, 'type', 'veth', 'peer', 'name', `h${member}`, 'netns', vpc]);
      ip(vpc, 'link', 'set', `h${member}`, 'master', `${member}-priv`, 'up');
      ip(host, 'address', 'add', `${hostIp}/24`, 'dev', 'eth0');
      ip(host, 'link', 'set', 'eth0', 'up');
      ip(host, 'route', 'add', 'default', 'via', gateway(privateSubnet));
    }
  }

  private startProcess(node: string, argv: string[], ready: RegExp, timeoutMs = 20_000): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', this.ns(node), ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.processes.push(child);
    return new Promise((resolve, reject) => {
      let output = '';
      const timer = setTimeout(
        () => reject(new Error(`${argv.slice(0, 3).join(' ')} in ${node} not ready within ${timeoutMs / 1000}s: ${output}`)),
        timeoutMs,
      );
      const onData = (chunk: Buffer) => {
        output = (output + chunk.toString()).slice(-4000);
        if (ready.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${argv.slice(0, 3).join(' ')} in ${node} exited (${code}): ${output}`));
      });
    });
  }
}

/** The subnet router (.1) of the /24 an address is in. */
function gateway(addressOrCidr: string): string {
  const octets = addressOrCidr.split('/')[0].split('.');
  octets[3] = '1';
  return octets.join('.');
}

/** Builds a group lab (cleaned up on a build failure); register teardown with `teardownGroupLabs`. */
export async function createGroupLab(healthCheck: HealthCheckSettings = LAB_HEALTH_CHECK): Promise<GroupLab> {
  return buildRegistered(new GroupLab(healthCheck), liveGroupLabs);
}

export function teardownGroupLabs(): void {
  for (const lab of liveGroupLabs) {
    lab.teardown();
    liveGroupLabs.delete(lab);
  }
}
