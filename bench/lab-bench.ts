import { ChildProcessWithoutNullStreams, spawn } from 'child_process';
import { join } from 'path';
import {
  createLabVpc,
  expectBootSuccess,
  expectSourceIp,
  hostAddress,
  LAB_ADDRESSES,
  LabNode,
  LabVpc,
  requireRoot,
  run,
} from '../test/lab/harness';
import { median, round } from './stats';

/**
 * Benchmarks 2-4, in the network-namespace lab VPC of test/lab/harness (the real boot script,
 * rendered from the synthesized user data, runs in the NAT namespace). Every lab is torn down,
 * also on failure; all traffic stays inside the lab's namespaces.
 */

const HOLD_CONNECTIONS = join(__dirname, 'hold_connections.py');
const IPERF_PORT = 5201;
const SCALE_PORT = 7000;
/**
 * Connections per client source address. Linux's connect() tries even local ports first and
 * falls back to odd ones only after scanning every even port, so past the 32,256 even ports of
 * 1024-65535 each connect() of one source address to one destination scans them all and the
 * clients crawl. Above this many per host, hosts get more source addresses (10.8.1.21, …).
 */
const CONNECTIONS_PER_SOURCE = 22_000;

/** Runs a benchmark on a fresh lab and always tears it down. */
async function withLab<T>(options: Parameters<typeof createLabVpc>[0], body: (lab: LabVpc) => Promise<T> | T): Promise<T> {
  const lab = await createLabVpc(options);
  try {
    return await body(lab);
  } finally {
    lab.teardown();
  }
}

function bootNat(lab: LabVpc, scenario: string): number {
  const started = process.hrtime.bigint();
  const result = lab.runBootScript();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  expectBootSuccess(scenario, result);
  return seconds;
}

/**
 * The baseline: the same lab, but the NAT namespace only routes (ip_forward, no nftables, no
 * translation), and the VPC router sends traffic from the internet gateway to the private subnets
 * back through it, so both directions take the same hops as through the NAT.
 */
function configurePlainRouting(lab: LabVpc): void {
  for (const [key, value] of [
    ['net.ipv4.ip_forward', '1'],
    ['net.ipv4.conf.all.send_redirects', '0'],
    ['net.ipv4.conf.ens5.send_redirects', '0'],
    ['net.ipv4.conf.all.rp_filter', '0'],
    ['net.ipv4.conf.ens5.rp_filter', '0'],
  ]) {
    lab.exec('nat', ['sysctl', '-q', '-w', `${key}=${value}`]);
  }
  for (const host of lab.privateHosts) {
    lab.exec('vpc', ['ip', 'rule', 'add', 'pref', '90', 'iif', 'igw', 'to', host.subnet, 'lookup', '100']);
  }
}

// ---------------------------------------------------------------------------------- throughput

export interface ThroughputResult {
  readonly runs: number;
  readonly secondsPerRun: number;
  readonly natGbps: number;
  readonly plainRoutingGbps: number;
  /** NAT / plain routing, medians of the same run. */
  readonly ratio: number;
  readonly natRetransmits: number;
  readonly plainRoutingRetransmits: number;
  readonly samples: { nat: number[]; plainRouting: number[] };
  readonly setup: string;
}

function startDaemon(lab: LabVpc, node: LabNode, argv: string[]): ChildProcessWithoutNullStreams {
  // Stopped by lab.teardown(), which kills every process left in the lab's namespaces.
  return spawn('ip', ['netns', 'exec', lab.namespace(node), ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
}

function waitForOutput(child: ChildProcessWithoutNullStreams, pattern: RegExp, timeoutMs: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`${what}: no '${pattern}' within ${timeoutMs / 1000}s; output: ${output.slice(-500)}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        resolve(match[0]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) early: ${output.slice(-500)}`));
    });
  });
}

async function startIperfServer(lab: LabVpc): Promise<void> {
  const server = startDaemon(lab, 'internet', [
    'iperf3',
    '-s',
    '--forceflush',
    '-B',
    LAB_ADDRESSES.internetServerIp,
    '-p',
    String(IPERF_PORT),
  ]);
  await waitForOutput(server, /Server listening/, 10_000, 'iperf3 server');
}

function iperf(lab: LabVpc, seconds: number): { gbps: number; retransmits: number } {
  const result = lab.exec('h1', ['iperf3', '-c', LAB_ADDRESSES.internetServerIp, '-p', String(IPERF_PORT), '-t', String(seconds), '-J'], {
    timeoutMs: (seconds + 30) * 1000,
  });
  const report = JSON.parse(result.stdout);
  return { gbps: report.end.sum_received.bits_per_second / 1e9, retransmits: report.end.sum_sent.retransmits ?? 0 };
}

export async function runThroughputBench(runs: number, seconds: number, log: (line: string) => void): Promise<ThroughputResult> {
  requireRoot();
  const nat = await createLabVpc({ mode: 'single' });
  let plain: LabVpc | undefined;
  try {
    plain = await createLabVpc({ mode: 'single', writeUserData: false });
    bootNat(nat, 'bench throughput: NAT');
    configurePlainRouting(plain);
    expectSourceIp(
      nat,
      {
        scenario: 'bench throughput: NAT',
        from: 'h1',
        protocol: 'tcp',
        host: LAB_ADDRESSES.internetServerIp,
        port: LAB_ADDRESSES.internetHttpPort,
      },
      nat.natPublicIp,
    );
    expectSourceIp(
      plain,
      {
        scenario: 'bench throughput: plain routing',
        from: 'h1',
        protocol: 'tcp',
        host: LAB_ADDRESSES.internetServerIp,
        port: LAB_ADDRESSES.internetHttpPort,
      },
      plain.privateHosts[0].ip,
    );
    await Promise.all([startIperfServer(nat), startIperfServer(plain)]);
    const natSamples: { gbps: number; retransmits: number }[] = [];
    const plainSamples: { gbps: number; retransmits: number }[] = [];
    for (let i = 0; i < runs; i++) {
      plainSamples.push(iperf(plain, seconds));
      natSamples.push(iperf(nat, seconds));
      log(`  iperf3 run ${i + 1}/${runs}: NAT ${round(natSamples[i].gbps)} Gbit/s, plain routing ${round(plainSamples[i].gbps)} Gbit/s`);
    }
    const natGbps = median(natSamples.map((s) => s.gbps));
    const plainGbps = median(plainSamples.map((s) => s.gbps));
    return {
      runs,
      secondsPerRun: seconds,
      natGbps: round(natGbps),
      plainRoutingGbps: round(plainGbps),
      ratio: round(natGbps / plainGbps),
      natRetransmits: median(natSamples.map((s) => s.retransmits)),
      plainRoutingRetransmits: median(plainSamples.map((s) => s.retransmits)),
      samples: { nat: natSamples.map((s) => round(s.gbps, 3)), plainRouting: plainSamples.map((s) => round(s.gbps, 3)) },
      setup:
        'single TCP stream h1 (10.8.1.20) -> internet 198.51.100.10:5201, iperf3 -t ' +
        `${seconds}; NAT lab = boot script (single mode, nftables masquerade + MSS clamp + forward rules); ` +
        'plain lab = same namespaces, ip_forward only, return path through the same NAT namespace',
    };
  } finally {
    nat.teardown();
    plain?.teardown();
  }
}

// ---------------------------------------------------------------------------------- connection scale

export interface ConnectionScaleResult {
  /** Public addresses of the NAT (`publicIpCount`): source NAT spreads connections over them. */
  readonly publicAddresses: number;
  readonly requested: number;
  readonly established: number;
  readonly failed: number;
  readonly timedOut: number;
  readonly conntrackEntriesNat: number;
  readonly conntrackMax: number;
  readonly natConntrackStats: Record<string, number>;
  readonly serverEstablished: number;
  /** The server's established connections by the public address they came from. */
  readonly serverEstablishedByAddress: Record<string, number>;
  readonly secondsToSettle: number;
  readonly perHost: Record<string, unknown>[];
  readonly setup: string;
}

function conntrackStats(lab: LabVpc): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const line of lab.exec('nat', ['conntrack', '-S']).stdout.split('\n')) {
    for (const [, key, value] of line.matchAll(/(\w+)=(\d+)/g)) {
      if (key !== 'cpu') totals[key] = (totals[key] ?? 0) + Number(value);
    }
  }
  return {
    found: totals.found ?? 0,
    invalid: totals.invalid ?? 0,
    insert_failed: totals.insert_failed ?? 0,
    drop: totals.drop ?? 0,
    early_drop: totals.early_drop ?? 0,
  };
}

/** The descriptor hard limit this process (and its children) run under. */
function descriptorHardLimit(): number {
  const text = run(['sh', '-c', 'ulimit -Hn']).stdout.trim();
  return text === 'unlimited' ? 1_048_576 : Number(text);
}

export async function runConnectionScaleBench(
  total: number,
  deadlineSeconds: number,
  log: (line: string) => void,
  publicAddresses = 1,
): Promise<ConnectionScaleResult> {
  requireRoot();
  return withLab({ mode: 'single', natProps: { publicIpCount: publicAddresses } }, async (lab) => {
    bootNat(lab, 'bench connection scale');
    const hosts = lab.privateHosts;
    // Per-namespace settings: every client may use ports 1024-65535, the server may queue every SYN.
    for (const host of hosts) lab.exec(host.node, ['sysctl', '-q', '-w', 'net.ipv4.ip_local_port_range=1024 65535']);
    lab.exec('internet', ['sysctl', '-q', '-w', 'net.core.somaxconn=65535']);
    lab.exec('internet', ['sysctl', '-q', '-w', 'net.ipv4.tcp_max_syn_backlog=65535']);
    // One process may hold at most RLIMIT_NOFILE sockets (its hard limit cannot be raised here):
    // servers share the port with SO_REUSEPORT, and each host runs several clients.
    const perProcess = Math.floor((descriptorHardLimit() - 200) * 0.75);
    const serverCount = Math.ceil(total / perProcess) + 1;
    const servers = Array.from({ length: serverCount }, () =>
      startDaemon(lab, 'internet', [
        'python3',
        HOLD_CONNECTIONS,
        'serve',
        '--bind',
        LAB_ADDRESSES.internetServerIp,
        '--port',
        String(SCALE_PORT),
        '--max',
        String(Math.floor(perProcess / 0.75)),
      ]),
    );
    await Promise.all(servers.map((server) => waitForOutput(server, /ready/, 10_000, 'connection server')));
    const perHostCount = Math.ceil(total / hosts.length);
    const sourcesPerHost = Math.ceil(perHostCount / CONNECTIONS_PER_SOURCE);
    const sources = hosts.flatMap((host) =>
      Array.from({ length: sourcesPerHost }, (_, n) => {
        const ip = n === 0 ? host.ip : hostAddress(host.subnet, 20 + n);
        if (n > 0) lab.exec(host.node, ['ip', 'address', 'add', `${ip}/24`, 'dev', 'eth0']);
        return { host, ip };
      }),
    );
    const perSourceCount = Math.ceil(total / sources.length);
    const clientSpecs = sources.flatMap((source, i) => {
      const sourceCount = Math.max(0, Math.min(perSourceCount, total - perSourceCount * i));
      const processes = Math.ceil(sourceCount / perProcess);
      return Array.from({ length: processes }, (_, p) => ({ ...source, count: Math.min(perProcess, sourceCount - perProcess * p) }));
    });
    const clients = clientSpecs.map(({ host, ip, count }) =>
      startDaemon(lab, host.node, [
        'python3',
        HOLD_CONNECTIONS,
        'connect',
        '--dst',
        LAB_ADDRESSES.internetServerIp,
        '--port',
        String(SCALE_PORT),
        '--count',
        String(count),
        '--deadline',
        String(deadlineSeconds),
        '--source',
        ip,
      ]),
    );
    try {
      const lines = await Promise.all(
        clients.map((client, i) =>
          waitForOutput(client, /\{.*\}\n/, (deadlineSeconds + 60) * 1000, `connection client in ${clientSpecs[i].host.node}`),
        ),
      );
      const perHost = lines.map((line, i) => ({ host: clientSpecs[i].host.node, source: clientSpecs[i].ip, ...JSON.parse(line) }));
      // Counted while every client still holds its connections open.
      const conntrackEntriesNat = Number(lab.exec('nat', ['cat', '/proc/sys/net/netfilter/nf_conntrack_count']).stdout.trim());
      const conntrackMax = Number(lab.exec('nat', ['cat', '/proc/sys/net/netfilter/nf_conntrack_max']).stdout.trim());
      const serverConnections = lab
        .exec('internet', ['ss', '-Htn', 'state', 'established', `( sport = :${SCALE_PORT} )`], { timeoutMs: 60_000 })
        .stdout.split('\n')
        .filter((line) => line.trim());
      const serverEstablished = serverConnections.length;
      // Columns: Recv-Q Send-Q Local:Port Peer:Port; the peer is the NAT's public address.
      const serverEstablishedByAddress: Record<string, number> = {};
      for (const line of serverConnections) {
        const peer = line.trim().split(/\s+/)[3]?.replace(/:\d+$/, '') ?? 'unknown';
        serverEstablishedByAddress[peer] = (serverEstablishedByAddress[peer] ?? 0) + 1;
      }
      const sum = (key: string) => perHost.reduce((acc, entry) => acc + Number(entry[key] ?? 0), 0);
      const result: ConnectionScaleResult = {
        publicAddresses,
        requested: total,
        established: sum('established'),
        failed: sum('failed'),
        timedOut: sum('timedOut'),
        conntrackEntriesNat,
        conntrackMax,
        natConntrackStats: conntrackStats(lab),
        serverEstablished,
        serverEstablishedByAddress,
        secondsToSettle: Math.max(...perHost.map((entry) => Number(entry.seconds))),
        perHost,
        setup:
          `${hosts.length} private hosts x ${perHostCount} connections from ${sourcesPerHost} source address(es) each ` +
          `(ip_local_port_range 1024-65535 in each host namespace; ` +
          `${clients.length} client and ${serverCount} server processes because RLIMIT_NOFILE is ${descriptorHardLimit()} and cannot be raised here) ` +
          `-> ONE destination ${LAB_ADDRESSES.internetServerIp}:${SCALE_PORT} through the NAT (single mode, ` +
          `${publicAddresses === 1 ? 'masquerade to one public address' : `source NAT over ${publicAddresses} public addresses by flow hash`}); ` +
          `a connection not established within ${deadlineSeconds}s counts as failed; nf_conntrack_max is the host kernel's global value (not changed)`,
      };
      log(
        `  connections (${publicAddresses} public address(es)): ${result.established} established, ${result.failed} failed, ` +
          `${conntrackEntriesNat} conntrack entries in the NAT, server saw ${JSON.stringify(serverEstablishedByAddress)}`,
      );
      return result;
    } finally {
      for (const client of clients) client.stdin.end();
    }
  });
}

// ---------------------------------------------------------------------------------- boot time

export interface BootTimeResult {
  readonly runs: number;
  readonly singleSeconds: number;
  readonly dualSeconds: number;
  readonly samples: { single: number[]; dual: number[] };
  readonly setup: string;
}

async function bootSamples(mode: 'single' | 'dual', runs: number): Promise<number[]> {
  return withLab({ mode }, async (lab) => {
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) {
      if (i > 0) await lab.rebootNat();
      samples.push(bootNat(lab, `bench boot time (${mode}, boot ${i + 1})`));
    }
    expectSourceIp(
      lab,
      {
        scenario: `bench boot time (${mode})`,
        from: 'h1',
        protocol: 'tcp',
        host: LAB_ADDRESSES.internetServerIp,
        port: LAB_ADDRESSES.internetHttpPort,
      },
      lab.natPublicIp,
    );
    return samples;
  });
}

export async function runBootTimeBench(runs: number, log: (line: string) => void): Promise<BootTimeResult> {
  requireRoot();
  const single = await bootSamples('single', runs);
  const dual = await bootSamples('dual', runs);
  log(`  boot: single ${single.map((s) => round(s, 3)).join(', ')} s; dual ${dual.map((s) => round(s, 3)).join(', ')} s`);
  return {
    runs,
    singleSeconds: round(median(single), 3),
    dualSeconds: round(median(dual), 3),
    samples: { single: single.map((s) => round(s, 3)), dual: dual.map((s) => round(s, 3)) },
    setup:
      'per-boot script from start to exit 0 with its "ready" line (settings validated, interfaces found, ruleset, kernel settings, routes and persistence applied), first boot then reboots of the NAT namespace; interfaces present at boot; includes ip netns exec + overlay mount (a few ms)',
  };
}
