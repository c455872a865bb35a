import { ChildProcess, spawn } from 'child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { CommandResult, formatCommand, run, runAsync, RunOptions, waitForReadyLine, waitUntil } from './shell';
import { buildRegistered } from './build-registered';
import { deliveredNatUserData, LAB_LAYOUT, LabNatProps, synthesizeNatUserData, SynthesizedNatUserData } from './synthesized-user-data';

/** The namespaces of a lab VPC. `h1`…`h3` are private hosts in the NAT's private subnets. */
export type LabNode = 'vpc' | 'igw' | 'internet' | 'nat' | 'h1' | 'h2' | 'h3' | 'outside';

export interface LabHost {
  readonly node: LabNode;
  readonly ip: string;
  readonly subnet: string;
}

export interface LabVpcOptions {
  /** The NAT's mode, passed to the construct. @default 'single' */
  readonly mode?: 'single' | 'dual';
  /** More NatInstance props (port forwards, wait seconds…); the VPC wiring comes from the lab. */
  readonly natProps?: LabNatProps;
  /**
   * Dual mode: when the secondary interface (ens6) appears. `manual`: call
   * `attachSecondaryInterface()` yourself (late attachment); `never`: it never does.
   * @default 'at-boot'
   */
  readonly secondaryInterface?: 'at-boot' | 'manual' | 'never';
  /** Write the synthesized user data onto the NAT's disk (cloud-init's first boot). @default true */
  readonly writeUserData?: boolean;
  /**
   * The cloud-config the NAT boots from, exactly as EC2 hands it to cloud-init (e.g. read back from
   * the emulated EC2 API after `terraform apply`), instead of the user data synthesized from
   * `natProps`. Its mode must be `mode`.
   * @default the user data synthesized from `mode` and `natProps`
   */
  readonly userData?: string;
  /**
   * What a name lookup inside the lab meets; the lab itself looks no name up. `refused`: the
   * resolver is the namespace's own loopback, where nothing listens, so a lookup fails at once and
   * sends nothing out. `black-holed`: a machine whose resolver the lab cannot reach — the resolver
   * is an address outside the lab's plan that the internet edge drops without a word, and the
   * machine's own name is not in the hosts file, so even that takes a DNS query.
   * @default the environment's NAT_LAB_NAME_RESOLUTION, else 'refused'
   */
  readonly nameResolution?: LabNameResolution;
  /**
   * How many addresses the NAT's public interface (ens5) has at boot, as amazon-ec2-net-utils
   * configures EC2's secondary private addresses (10.8.0.10, .11, …); the IGW maps each to its
   * public IP (192.0.2.10, .11, …). @default `natProps.publicIpCount`, else 1
   */
  readonly publicAddresses?: number;
}

export type LabNameResolution = 'refused' | 'black-holed';

/** Addresses of the lab, the same in every lab. */
export const LAB_ADDRESSES = {
  /** The NAT's "Elastic IP": the IGW maps it 1:1 to the NAT's public-subnet address. */
  natPublicIp: '192.0.2.10',
  natPublicSubnetIp: '10.8.0.10',
  /** The public interface's addresses (primary first) and the IGW's 1:1 mapping of each to a public IP. */
  natPublicAddressPairs: [
    { privateIp: '10.8.0.10', publicIp: '192.0.2.10' },
    { privateIp: '10.8.0.11', publicIp: '192.0.2.11' },
    { privateIp: '10.8.0.12', publicIp: '192.0.2.12' },
    { privateIp: '10.8.0.13', publicIp: '192.0.2.13' },
  ],
  natSecondaryIp: '10.8.1.10',
  /** The what-is-my-IP server on the internet (HTTP port 80, UDP port 5300). */
  internetServerIp: '198.51.100.10',
  internetHttpPort: 80,
  internetUdpPort: 5300,
  /** Extra source addresses of the internet namespace, for port-forward clients. */
  internetClientIps: ['203.0.113.5', '203.0.113.66'],
  /** Every private host and the outside host run the same server on these ports. */
  hostHttpPort: 8080,
  hostUdpPort: 5300,
  /** A VPC subnet that uses the private route table but is not one of the NAT's private subnets. */
  outsideSubnet: '10.8.4.0/24',
} as const;

/**
 * The lab's address plan: every destination a packet in the lab may have. The internet edge (the
 * `igw` namespace) counts and drops any other (`lab.packetsOutsideAddressPlan()`).
 */
export const LAB_ADDRESS_PLAN = [
  LAB_LAYOUT.vpcCidr,
  '100.64.0.0/30', // VPC router <-> internet gateway
  '198.51.100.0/24', // internet gateway <-> internet (the what-is-my-IP server)
  '203.0.113.0/24', // the internet's client addresses
  // The NAT's public IPs (192.0.2.10 and, with several addresses, .11 to .13).
  ...LAB_ADDRESSES.natPublicAddressPairs.map((pair) => `${pair.publicIp}/32`),
] as const;

/** The resolver of a `black-holed` lab: outside the plan (198.18.0.0/15 is for benchmarks), dropped at the edge. */
export const BLACK_HOLED_RESOLVER_IP = '198.18.0.53';

/** What the internet edge saw leave for destinations outside the lab's address plan. */
export interface OutsidePlanRecord {
  readonly packets: number;
  readonly destinations: string[];
}

/** The VPC's subnets by bridge index (s0 public, s1-s3 private, s4 outside). */
const LAB_SUBNETS = [LAB_LAYOUT.publicSubnet, ...LAB_LAYOUT.privateSubnets, LAB_ADDRESSES.outsideSubnet];
const WHOAMI = join(__dirname, 'whoami.py');
const PRIVATE_ROUTE_TABLE = '100';
/** The VPC router's table for packets from the IGW that `routeInternetToNatPublicInterface` diverts. */
const THROUGH_NAT_TABLE = '150';
const SERVER_READY_TIMEOUT_MS = 10_000;
const NAT_REBOOT_TIMEOUT_MS = 5_000;
let labCounter = 0;

/**
 * Kernel settings every namespace starts from, whatever the machine running the lab has (a new
 * namespace inherits the host's IPv4 `all`/`default` settings): forwarding off, redirects on, no
 * reverse-path filter — the VPC fabric does none.
 */
const FRESH_KERNEL: Record<string, string> = {
  'net.ipv4.ip_forward': '0',
  'net.ipv4.conf.all.send_redirects': '1',
  'net.ipv4.conf.default.send_redirects': '1',
  'net.ipv4.conf.all.rp_filter': '0',
  'net.ipv4.conf.default.rp_filter': '0',
};

/**
 * The NAT boots as a host that filters strictly by reverse path (the kernel documentation's
 * recommendation, RFC 3704): its forwarding works only where the boot script loosens it.
 */
const FRESH_NAT_KERNEL: Record<string, string> = {
  ...FRESH_KERNEL,
  'net.ipv4.conf.all.rp_filter': '1',
  'net.ipv4.conf.default.rp_filter': '1',
};

/**
 * The files `ip netns exec` mounts over the host's /etc in a lab namespace (/etc/netns/<name>/),
 * also on the NAT's disk: the host's resolver is never used inside the lab.
 */
function namespaceEtcFiles(nameResolution: LabNameResolution): Record<string, string> {
  if (nameResolution === 'refused') {
    return {
      'resolv.conf':
        '# Lab namespace: nothing listens on its loopback, so a lookup fails at once and nothing leaves.\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n',
    };
  }
  return {
    'resolv.conf': `# Lab namespace on a machine whose resolver the lab cannot reach: the lab's edge drops the queries.\nnameserver ${BLACK_HOLED_RESOLVER_IP}\n`,
    hosts: '127.0.0.1 localhost\n::1 localhost\n',
    'nsswitch.conf': ['passwd', 'group', 'shadow', 'networks', 'protocols', 'services', 'ethers', 'rpc']
      .map((database) => `${database}: files\n`)
      .join('')
      .concat('hosts: files dns\n'),
  };
}

function defaultNameResolution(): LabNameResolution {
  const value = process.env.NAT_LAB_NAME_RESOLUTION ?? 'refused';
  if (value !== 'refused' && value !== 'black-holed') {
    throw new Error(`NAT_LAB_NAME_RESOLUTION must be 'refused' or 'black-holed', got '${value}'`);
  }
  return value;
}

/**
 * A VPC made of network namespaces, emulating AWS closely enough to run the NAT boot script:
 *
 * - `vpc`: the VPC router; one bridge per subnet holding the subnet's `.1`, the private route
 *   table (0.0.0.0/0 → the NAT's forwarding address) applied to traffic from the private subnets,
 *   and, in dual mode, the source/destination check of the NAT's primary interface;
 * - `igw`: the internet gateway, translating 1:1 between the NAT's public-subnet address and its public IP,
 *   and the lab's edge, where packets for destinations outside the address plan are counted and dropped;
 * - `internet`: a what-is-my-IP server (HTTP + UDP), two client addresses, and a recorder of ICMP sources;
 * - `nat`: the NAT host, interfaces `ens5`/`ens6` with AL2023 altnames, and a "disk" (overlay
 *   upper directories) that persists across `rebootNat()` and keeps the host's /etc and /var untouched;
 * - `h1`…`h3`: one private host per private subnet; `outside`: a host in 10.8.4.0/24, routed through
 *   the NAT but not one of its private subnets.
 */
export class LabVpc {
  readonly prefix: string;
  readonly mode: 'single' | 'dual';
  readonly userData: SynthesizedNatUserData;
  readonly natPublicIp = LAB_ADDRESSES.natPublicIp;
  /** The public IPs of the NAT's addresses (one per address of ens5, primary first). */
  readonly natPublicIps: string[];
  /** The address private route tables point at (ens6 in dual mode, ens5 in single mode). */
  readonly natForwardingIp: string;
  readonly privateHosts: LabHost[];
  readonly outsideHost: LabHost;
  readonly diskDirectory: string;
  readonly nameResolution: LabNameResolution;
  private readonly natAddressPairs: ReadonlyArray<{ privateIp: string; publicIp: string }>;
  private readonly servers: ChildProcess[] = [];
  private readonly namespaces: string[] = [];
  private secondaryAttached = false;
  private tornDown = false;

  constructor(private readonly options: LabVpcOptions = {}) {
    this.mode = options.mode ?? 'single';
    this.nameResolution = options.nameResolution ?? defaultNameResolution();
    labCounter += 1;
    // The whole pid keeps concurrent runs apart (namespace names may be long; veth names live inside them).
    this.prefix = `nl${process.pid.toString(36)}x${labCounter.toString(36)}`;
    this.natForwardingIp = this.mode === 'dual' ? LAB_ADDRESSES.natSecondaryIp : LAB_ADDRESSES.natPublicSubnetIp;
    const publicAddresses = options.publicAddresses ?? options.natProps?.publicIpCount ?? 1;
    if (publicAddresses < 1 || publicAddresses > LAB_ADDRESSES.natPublicAddressPairs.length) {
      throw new Error(`the lab NAT can have 1 to ${LAB_ADDRESSES.natPublicAddressPairs.length} public addresses, not ${publicAddresses}`);
    }
    this.natAddressPairs = LAB_ADDRESSES.natPublicAddressPairs.slice(0, publicAddresses);
    this.natPublicIps = this.natAddressPairs.map((pair) => pair.publicIp);
    this.privateHosts = LAB_LAYOUT.privateSubnets.map((subnet, i) => ({
      node: `h${i + 1}` as LabNode,
      ip: hostAddress(subnet, 20),
      subnet,
    }));
    this.outsideHost = { node: 'outside', ip: hostAddress(LAB_ADDRESSES.outsideSubnet, 20), subnet: LAB_ADDRESSES.outsideSubnet };
    this.userData =
      options.userData === undefined
        ? synthesizeNatUserData({ mode: this.mode, ...options.natProps })
        : deliveredNatUserData(options.userData);
    this.diskDirectory = mkdtempSync(join(diskBase(), `${this.prefix}-disk-`));
  }

  /** The namespace name of a node (unique per run). */
  namespace(node: LabNode): string {
    return `${this.prefix}-${node}`;
  }

  /** Runs a command in a node's namespace (bounded; throws on non-zero exit unless `check: false`). */
  exec(node: LabNode, argv: readonly string[], options?: RunOptions): CommandResult {
    return run(['ip', 'netns', 'exec', this.namespace(node), ...argv], options);
  }

  execAsync(node: LabNode, argv: readonly string[], options?: { timeoutMs?: number }): Promise<CommandResult> {
    return runAsync(['ip', 'netns', 'exec', this.namespace(node), ...argv], options);
  }

  /** Builds every namespace and link, starts the servers, and writes the user data (unless disabled). */
  async build(): Promise<void> {
    for (const node of ['vpc', 'igw', 'internet', 'h1', 'h2', 'h3', 'outside'] as LabNode[]) this.addNamespace(node);
    this.buildVpcRouter();
    this.buildInternet();
    this.privateHosts.concat(this.outsideHost).forEach((host, i) => this.buildHost(host, i + 1));
    this.bootNatHardware();
    for (const [name, content] of Object.entries(namespaceEtcFiles(this.nameResolution))) this.writeNatFile(`/etc/${name}`, content);
    if (this.options.writeUserData ?? true) this.writeUserDataFiles();
    await Promise.all([
      this.startServer('internet', ['--http', String(LAB_ADDRESSES.internetHttpPort), '--udp', String(LAB_ADDRESSES.internetUdpPort)]),
      ...this.privateHosts
        .concat(this.outsideHost)
        .map((host) =>
          this.startServer(host.node, ['--http', String(LAB_ADDRESSES.hostHttpPort), '--udp', String(LAB_ADDRESSES.hostUdpPort)]),
        ),
    ]);
  }

  /** cloud-init's first boot: writes the cloud-config's write_files onto the NAT's disk. */
  writeUserDataFiles(): void {
    for (const file of this.userData.files) this.writeNatFile(file.path, file.content, parseInt(file.permissions, 8));
  }

  /** Writes a file onto the NAT's disk (its /etc or /var). */
  writeNatFile(path: string, content: string, mode = 0o644): void {
    const target = this.diskPath(path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
    chmodSync(target, mode);
  }

  /** Where a file of the NAT's /etc or /var lives on the lab's disk (the overlay's upper directory). */
  diskPath(path: string): string {
    const match = /^\/(etc|var)(\/.*)$/.exec(path);
    if (!match) throw new Error(`the lab NAT's disk holds only /etc and /var, not ${path}`);
    return join(this.diskDirectory, match[1], 'upper', match[2]);
  }

  /** A file of the NAT's disk, or undefined when it does not exist. */
  readNatFile(path: string): string | undefined {
    const target = this.diskPath(path);
    return existsSync(target) ? readFileSync(target, 'utf8') : undefined;
  }

  /** The argv that runs the per-boot script in the NAT namespace with the disk mounted over /etc and /var. */
  bootScriptCommand(): string[] {
    return this.natCommand(['/var/lib/cloud/scripts/per-boot/nat-instance.sh']);
  }

  /**
   * The argv that runs a program of the NAT (e.g. one the user data installed) in its namespace,
   * with the disk mounted over /etc and /var.
   */
  natCommand(argv: string[]): string[] {
    const mounts = ['etc', 'var']
      .map((dir) => {
        const base = join(this.diskDirectory, dir);
        return `mkdir -p ${base}/upper ${base}/work && mount -t overlay overlay -o lowerdir=/${dir},upperdir=${base}/upper,workdir=${base}/work /${dir}`;
      })
      .join(' && ');
    return [
      'ip',
      'netns',
      'exec',
      this.namespace('nat'),
      'unshare',
      '--mount',
      '--propagation',
      'private',
      'bash',
      '-c',
      `${mounts} && exec "$0" "$@"`,
      ...argv,
    ];
  }

  /** Runs the per-boot script as cloud-init would at boot; returns its outcome (does not throw). */
  runBootScript(timeoutMs = 60_000): CommandResult {
    return run(this.bootScriptCommand(), { timeoutMs, check: false });
  }

  /** Starts the per-boot script in the background (for a late-attached interface). */
  startBootScript(timeoutMs = 60_000): Promise<CommandResult> {
    return runAsync(this.bootScriptCommand(), { timeoutMs });
  }

  /** Attaches the secondary interface (ens6 in the forwarding subnet), as EC2 does after boot. */
  attachSecondaryInterface(): void {
    if (this.mode !== 'dual') throw new Error('only a dual-mode lab NAT has a secondary interface');
    this.attachNatInterface('ens6', 'nat1', 1, LAB_ADDRESSES.natSecondaryIp, 1, 513);
    this.secondaryAttached = true;
  }

  /**
   * A reboot of the NAT: the namespace and all its state (nftables, sysctls, routes, conntrack)
   * are gone; the interfaces come back; the disk stays. Does not run the boot script.
   */
  async rebootNat(): Promise<void> {
    const ports = this.secondaryAttached ? ['nat0', 'nat1'] : ['nat0'];
    this.deleteNamespace(this.namespace('nat'));
    this.namespaces.splice(this.namespaces.indexOf(this.namespace('nat')), 1);
    // The veth peers in the VPC router disappear asynchronously with the namespace.
    await waitUntil(
      `the NAT reboot: the VPC router's ports ${ports.join(', ')} (peers of the NAT's interfaces) to go with namespace ${this.namespace('nat')}`,
      () => !ports.some((port) => this.vpcHasLink(port)),
      () => run(['ip', '-n', this.namespace('vpc'), '-brief', 'link', 'show'], { check: false }).stdout.trim() || '(no links)',
      NAT_REBOOT_TIMEOUT_MS,
    );
    this.bootNatHardware(this.secondaryAttached ? 'at-boot' : 'never');
  }

  /**
   * Points the private route table (0.0.0.0/0 of subnets 1-4) at another address of the NAT, e.g.
   * its primary interface in dual mode, where requests then arrive by one interface while the
   * replies to the private hosts leave by the other.
   */
  pointPrivateRouteTableAt(address: string): void {
    this.ip(
      'vpc',
      'route',
      'replace',
      'default',
      'via',
      address,
      'dev',
      `s${this.subnetIndexOf(address)}`,
      'onlink',
      'table',
      PRIVATE_ROUTE_TABLE,
    );
  }

  /**
   * Makes the VPC router hand packets from the IGW addressed to `destination` (a private host) to
   * the NAT's public interface instead of the host's subnet, as a neighbour in the public subnet
   * could send them: what the NAT does with inbound packets for private addresses becomes visible.
   */
  routeInternetToNatPublicInterface(destination: string): void {
    this.ip('vpc', 'rule', 'add', 'pref', '50', 'iif', 'igw', 'to', destination, 'lookup', THROUGH_NAT_TABLE);
    this.ip(
      'vpc',
      'route',
      'replace',
      'default',
      'via',
      LAB_ADDRESSES.natPublicSubnetIp,
      'dev',
      's0',
      'onlink',
      'table',
      THROUGH_NAT_TABLE,
    );
  }

  /** What left for destinations outside the lab's address plan (counted and dropped at the internet edge). */
  packetsOutsideAddressPlan(): OutsidePlanRecord {
    const listing = JSON.parse(this.exec('igw', ['nft', '-j', 'list', 'table', 'inet', 'lab_edge']).stdout).nftables as Array<{
      counter?: { name: string; packets: number };
      set?: { name: string; elem?: unknown[] };
    }>;
    const counter = listing.find((item) => item.counter?.name === 'outside_plan')?.counter;
    if (!counter) throw new Error(`lab ${this.prefix}: the internet edge has no outside_plan counter`);
    const destinations = listing
      .filter((item) => item.set?.name.startsWith('outside_'))
      .flatMap((item) => (item.set?.elem ?? []).map((element) => (typeof element === 'string' ? element : JSON.stringify(element))));
    return { packets: counter.packets, destinations };
  }

  /** Zeroes the internet edge's record of packets outside the plan (after a deliberate one). */
  forgetPacketsOutsideAddressPlan(): void {
    this.exec('igw', ['nft', 'reset', 'counter', 'inet', 'lab_edge', 'outside_plan']);
    for (const set of ['outside_ipv4', 'outside_ipv6']) this.exec('igw', ['nft', 'flush', 'set', 'inet', 'lab_edge', set]);
  }

  /** The NAT's log file (/var/log/nat-instance.log), empty when absent. */
  natLog(): string {
    return this.readNatFile('/var/log/nat-instance.log') ?? '';
  }

  /** Stops every server this lab started and deletes every namespace and the disk. Safe to call twice. */
  teardown(): void {
    this.tornDown = true;
    for (const server of this.servers.splice(0)) {
      if (server.exitCode === null && server.pid !== undefined) {
        try {
          process.kill(server.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    for (const ns of this.namespaces.splice(0).reverse()) {
      // Processes still running in our own namespaces were started by this lab.
      const pids = run(['ip', 'netns', 'pids', ns], { check: false }).stdout.split(/\s+/).filter(Boolean);
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      this.deleteNamespace(ns, { check: false });
    }
    rmSync(this.diskDirectory, { recursive: true, force: true });
  }

  /** The per-namespace /etc files `ip netns exec` mounts over the host's (resolv.conf, …). */
  namespaceEtcDirectory(node: LabNode): string {
    return join('/etc/netns', this.namespace(node));
  }

  // ------------------------------------------------------------------------------------------

  private addNamespace(node: LabNode): void {
    if (this.tornDown) throw new Error(`lab ${this.prefix} was torn down (test timed out?)`);
    const ns = this.namespace(node);
    run(['ip', 'netns', 'add', ns]);
    this.namespaces.push(ns);
    const etc = this.namespaceEtcDirectory(node);
    mkdirSync(etc, { recursive: true });
    for (const [name, content] of Object.entries(namespaceEtcFiles(this.nameResolution))) writeFileSync(join(etc, name), content);
    const kernel = node === 'nat' ? FRESH_NAT_KERNEL : FRESH_KERNEL;
    this.exec(node, ['sysctl', '-q', '-w', ...Object.entries(kernel).map(([key, value]) => `${key}=${value}`)]);
    this.ip(node, 'link', 'set', 'lo', 'up');
  }

  /** Deletes a namespace and its /etc/netns directory (ip netns del leaves that behind). */
  private deleteNamespace(ns: string, options?: RunOptions): void {
    run(['ip', 'netns', 'del', ns], options);
    rmSync(join('/etc/netns', ns), { recursive: true, force: true });
  }

  /** The index of the lab subnet holding an address (0 public, 1-3 private, 4 outside). */
  private subnetIndexOf(address: string): number {
    const index = LAB_SUBNETS.findIndex((subnet) => hostAddress(subnet, 0) === hostAddress(`${address}/24`, 0));
    if (index < 0) throw new Error(`${address} is in none of the lab's subnets`);
    return index;
  }

  private ip(node: LabNode, ...args: string[]): CommandResult {
    return run(['ip', '-n', this.namespace(node), ...args]);
  }

  private sysctl(node: LabNode, key: string, value: string): void {
    this.exec(node, ['sysctl', '-q', '-w', `${key}=${value}`]);
  }

  private nft(node: LabNode, ruleset: string): void {
    this.exec(node, ['nft', '-f', '-'], { input: ruleset });
  }

  /** A veth pair from `node`'s `ifname` to a port of the subnet's bridge in the VPC router. */
  private plugIntoSubnet(node: LabNode, ifname: string, port: string, subnetIndex: number): void {
    run([
      'ip',
      'link',
      'add',
      'name',
      ifname,
      'netns',
      this.namespace(node),
      'type',
      'veth',
      'peer',
      'name',
      port,
      'netns',
      this.namespace('vpc'),
    ]);
    this.ip('vpc', 'link', 'set', port, 'master', `s${subnetIndex}`, 'up');
  }

  private vpcHasLink(name: string): boolean {
    return run(['ip', '-n', this.namespace('vpc'), 'link', 'show', name], { check: false }).code === 0;
  }

  private buildVpcRouter(): void {
    this.sysctl('vpc', 'net.ipv4.ip_forward', '1');
    this.sysctl('vpc', 'net.ipv4.conf.all.send_redirects', '0');
    this.sysctl('vpc', 'net.ipv4.conf.default.send_redirects', '0');
    LAB_SUBNETS.forEach((subnet, i) => {
      // A fixed MAC, as the VPC router's: a bridge otherwise takes its lowest port MAC, which changes
      // when the NAT's port is re-plugged by rebootNat(), and hosts' ARP entries for the gateway go stale.
      this.ip('vpc', 'link', 'add', `s${i}`, 'address', `0e:00:00:00:01:${i.toString(16).padStart(2, '0')}`, 'type', 'bridge');
      this.ip('vpc', 'address', 'add', `${hostAddress(subnet, 1)}/24`, 'dev', `s${i}`);
      this.ip('vpc', 'link', 'set', `s${i}`, 'up');
    });
    run([
      'ip',
      'link',
      'add',
      'name',
      'igw',
      'netns',
      this.namespace('vpc'),
      'type',
      'veth',
      'peer',
      'name',
      'vpc',
      'netns',
      this.namespace('igw'),
    ]);
    this.ip('vpc', 'address', 'add', '100.64.0.1/30', 'dev', 'igw');
    this.ip('vpc', 'link', 'set', 'igw', 'up');
    // Public route table: 0.0.0.0/0 → IGW. Private route table (subnets 1…4): 0.0.0.0/0 → the NAT.
    this.ip('vpc', 'route', 'add', 'default', 'via', '100.64.0.2');
    this.ip('vpc', 'rule', 'add', 'pref', '100', 'lookup', 'main', 'suppress_prefixlength', '0');
    for (let i = 1; i < LAB_SUBNETS.length; i++) {
      this.ip('vpc', 'rule', 'add', 'pref', '200', 'iif', `s${i}`, 'lookup', PRIVATE_ROUTE_TABLE);
    }
    const natBridge = this.mode === 'dual' ? 's1' : 's0';
    this.ip('vpc', 'route', 'add', 'default', 'via', this.natForwardingIp, 'dev', natBridge, 'onlink', 'table', PRIVATE_ROUTE_TABLE);
    if (this.mode === 'dual') {
      // EC2's source/destination check stays on for the primary interface in dual mode:
      // a packet it sends with another source address is dropped (a reply that leaves by the wrong interface).
      this.nft(
        'vpc',
        `table bridge source_dest_check {
          chain prerouting {
            type filter hook prerouting priority 0; policy accept;
            iifname "nat0" ether type ip ip saddr != { ${this.natAddressPairs.map((pair) => pair.privateIp).join(', ')} } counter drop
          }
        }`,
      );
    }
  }

  private buildInternet(): void {
    const { natPublicAddressPairs, internetServerIp, internetClientIps } = LAB_ADDRESSES;
    this.sysctl('igw', 'net.ipv4.ip_forward', '1');
    this.ip('igw', 'address', 'add', '100.64.0.2/30', 'dev', 'vpc');
    this.ip('igw', 'link', 'set', 'vpc', 'up');
    run([
      'ip',
      'link',
      'add',
      'name',
      'internet',
      'netns',
      this.namespace('igw'),
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      this.namespace('internet'),
    ]);
    this.ip('igw', 'address', 'add', '198.51.100.1/24', 'dev', 'internet');
    this.ip('igw', 'link', 'set', 'internet', 'up');
    this.ip('igw', 'route', 'add', LAB_LAYOUT.vpcCidr, 'via', '100.64.0.1');
    this.ip('igw', 'route', 'add', '203.0.113.0/24', 'via', internetServerIp);
    // 1:1 NAT between each public IP and the NAT's public-subnet address it is associated with.
    // Other VPC sources pass untranslated (AWS would drop them), so a missing translation shows as
    // a private IP at the server.
    const inbound = natPublicAddressPairs.map((pair) => `${pair.publicIp} : ${pair.privateIp}`).join(', ');
    const outbound = natPublicAddressPairs.map((pair) => `${pair.privateIp} : ${pair.publicIp}`).join(', ');
    this.nft(
      'igw',
      `table ip internet_gateway {
        chain prerouting { type nat hook prerouting priority dstnat; policy accept; dnat to ip daddr map { ${inbound} }; }
        chain postrouting { type nat hook postrouting priority srcnat; policy accept; snat to ip saddr map { ${outbound} }; }
      }`,
    );
    this.ip('internet', 'address', 'add', `${internetServerIp}/24`, 'dev', 'eth0');
    for (const client of internetClientIps) this.ip('internet', 'address', 'add', `${client}/24`, 'dev', 'eth0');
    this.ip('internet', 'link', 'set', 'eth0', 'up');
    this.ip('internet', 'route', 'add', 'default', 'via', '198.51.100.1', 'src', internetServerIp);
    // The lab's edge: every packet arriving at or sent by the IGW (its loopback aside) for a destination
    // outside the lab's plan is recorded and dropped without an answer (a black hole, like an unreachable resolver).
    this.nft(
      'igw',
      `table inet lab_edge {
        set plan { type ipv4_addr; flags interval; elements = { ${LAB_ADDRESS_PLAN.join(', ')} }; }
        set outside_ipv4 { type ipv4_addr; flags dynamic; }
        set outside_ipv6 { type ipv6_addr; flags dynamic; }
        counter outside_plan { }
        chain outside {
          ip daddr != @plan add @outside_ipv4 { ip daddr } counter name outside_plan drop
          ip6 daddr != { fe80::/10, ff02::/16 } add @outside_ipv6 { ip6 daddr } counter name outside_plan drop
        }
        chain prerouting { type filter hook prerouting priority raw; policy accept; iif "lo" accept; jump outside; }
        chain output { type filter hook output priority raw; policy accept; oif "lo" accept; jump outside; }
      }`,
    );
    // Records the source of every ICMP echo request that reaches the internet, and counts TCP
    // SYNs announcing an MSS too large for a 1500-byte internet path.
    this.nft(
      'internet',
      `table ip recorder {
        set icmp_sources { type ipv4_addr; flags dynamic; }
        counter oversized_mss_syns { }
        chain input {
          type filter hook input priority 0; policy accept;
          icmp type echo-request add @icmp_sources { ip saddr }
          tcp flags & (syn | rst) == syn tcp option maxseg size > 1460 counter name oversized_mss_syns
        }
      }`,
    );
  }

  private buildHost(host: LabHost, subnetIndex: number): void {
    this.plugIntoSubnet(host.node, 'eth0', `p${subnetIndex}`, subnetIndex);
    this.ip(host.node, 'address', 'add', `${host.ip}/24`, 'dev', 'eth0');
    this.ip(host.node, 'link', 'set', 'eth0', 'up');
    this.ip(host.node, 'route', 'add', 'default', 'via', hostAddress(host.subnet, 1));
  }

  /** Creates the NAT namespace and the interfaces present at boot. */
  private bootNatHardware(secondary = this.options.secondaryInterface ?? 'at-boot'): void {
    this.addNamespace('nat');
    this.attachNatInterface('ens5', 'nat0', 0, LAB_ADDRESSES.natPublicSubnetIp, 0, 512);
    // EC2's secondary private addresses, configured on the interface as amazon-ec2-net-utils does.
    for (const pair of this.natAddressPairs.slice(1)) this.ip('nat', 'address', 'add', `${pair.privateIp}/24`, 'dev', 'ens5');
    if (this.mode === 'dual' && secondary === 'at-boot') this.attachSecondaryInterface();
  }

  /** One ENI: named and aliased as on AL2023, with the default route amazon-ec2-net-utils gives it. */
  private attachNatInterface(
    ifname: string,
    port: string,
    subnetIndex: number,
    address: string,
    deviceNumber: number,
    metric: number,
  ): void {
    const subnet = subnetIndex === 0 ? LAB_LAYOUT.publicSubnet : LAB_LAYOUT.privateSubnets[subnetIndex - 1];
    this.plugIntoSubnet('nat', ifname, port, subnetIndex);
    const eni = `eni-0${this.prefix
      .replace(/[^0-9a-f]/g, '0')
      .padEnd(15, '0')
      .slice(0, 15)}${deviceNumber}`;
    this.ip('nat', 'link', 'property', 'add', 'dev', ifname, 'altname', `device-number-${deviceNumber}.0`, 'altname', eni);
    this.ip('nat', 'address', 'add', `${address}/24`, 'dev', ifname);
    // An ENI keeps its MAC across reboots: so does the lab's, or the VPC router's ARP cache would
    // point at a vanished interface for seconds after rebootNat() (and drop single UDP probes).
    this.ip('nat', 'link', 'set', ifname, 'address', `0a:00:00:00:00:${deviceNumber.toString(16).padStart(2, '0')}`);
    this.ip('nat', 'link', 'set', ifname, 'up');
    this.ip('nat', 'route', 'add', 'default', 'via', hostAddress(subnet, 1), 'dev', ifname, 'metric', String(metric));
  }

  /** Starts a what-is-my-IP server in a node (stopped by teardown); resolves once it listens. */
  startWhoamiServer(node: LabNode, ports: { http?: number; udp?: number }): Promise<void> {
    const args = [...(ports.http ? ['--http', String(ports.http)] : []), ...(ports.udp ? ['--udp', String(ports.udp)] : [])];
    return this.startServer(node, args);
  }

  private async startServer(node: LabNode, args: string[]): Promise<void> {
    if (this.tornDown) throw new Error(`lab ${this.prefix} was torn down (test timed out?)`);
    const argv = ['ip', 'netns', 'exec', this.namespace(node), 'python3', WHOAMI, 'serve', ...args];
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.servers.push(child);
    await waitForReadyLine(child, `the what-is-my-IP server in ${node} (${formatCommand(argv)})`, /^ready$/m, SERVER_READY_TIMEOUT_MS);
  }
}

/**
 * Where the NAT's disk lives: on tmpfs when possible, because overlayfs cannot use an upper
 * directory on another overlayfs (the root of a CI container).
 */
function diskBase(): string {
  const shm = '/dev/shm';
  return existsSync(shm) && run(['stat', '-f', '-c', '%T', shm], { check: false }).stdout.trim() === 'tmpfs' ? shm : tmpdir();
}

/** The address `hostNumber` inside a /24 (`10.8.1.0/24`, 20 → `10.8.1.20`). */
export function hostAddress(subnet: string, hostNumber: number): string {
  const octets = subnet.split('/')[0].split('.');
  octets[3] = String(hostNumber);
  return octets.join('.');
}

const liveLabs = new Set<LabVpc>();

/**
 * Builds a lab VPC; on a build failure everything already created is removed before the error
 * propagates. The lab is also registered for `teardownLabs()`, so a test that times out while
 * building still gets cleaned up.
 */
export async function createLabVpc(options: LabVpcOptions = {}): Promise<LabVpc> {
  return buildRegistered(new LabVpc(options), liveLabs);
}

/**
 * Tears down every lab created by `createLabVpc` in this process (use in afterEach/afterAll), then
 * fails when one of them sent a packet to a destination outside the lab's address plan: nothing in
 * the lab may depend on the world outside it (a name lookup is the usual culprit).
 */
export function teardownLabs(): void {
  const escaped: string[] = [];
  for (const lab of liveLabs) {
    let record: OutsidePlanRecord | undefined;
    try {
      record = lab.packetsOutsideAddressPlan();
    } catch {
      // no internet edge (the build failed before it, or the test tore the lab down): nothing to check
    }
    lab.teardown();
    liveLabs.delete(lab);
    if (record && record.packets > 0) escaped.push(`lab ${lab.prefix}: ${record.packets} packet(s) to ${record.destinations.join(', ')}`);
  }
  if (escaped.length > 0) {
    throw new Error(
      `packets headed for destinations outside the lab's address plan (${LAB_ADDRESS_PLAN.join(', ')}), dropped at its edge:\n${escaped.join('\n')}`,
    );
  }
}
