/**
 * The lab stands alone: its servers look no name up, each namespace has its own resolver
 * configuration (never the host's), and no packet heads for a destination outside the lab's
 * address plan — counted at the lab's internet edge. It works the same on a machine whose
 * resolver the lab cannot reach.
 */
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import {
  BLACK_HOLED_RESOLVER_IP,
  createLabVpc,
  expectBootSuccess,
  expectNoAnswer,
  expectSourceIp,
  LAB_ADDRESSES,
  LabNode,
  LabVpc,
  LabVpcOptions,
  requireRoot,
  teardownLabs,
} from './harness';

jest.setTimeout(120_000);
beforeAll(requireRoot);
afterEach(teardownLabs);

const NODES: LabNode[] = ['vpc', 'igw', 'internet', 'nat', 'h1', 'h2', 'h3', 'outside'];
const internetHttp = { protocol: 'tcp', host: LAB_ADDRESSES.internetServerIp, port: LAB_ADDRESSES.internetHttpPort } as const;
const internetUdp = { protocol: 'udp', host: LAB_ADDRESSES.internetServerIp, port: LAB_ADDRESSES.internetUdpPort } as const;
const [client] = LAB_ADDRESSES.internetClientIps;
const FORWARDED_PORT = 2222;
/** An address outside the lab's plan (198.18.0.0/15 is reserved for benchmarks). */
const OUTSIDE_ADDRESS = '198.18.0.1';

/** GIVEN a booted dual-mode NAT with a port forward to h2. */
async function bootedLab(scenario: string, options: LabVpcOptions = {}): Promise<LabVpc> {
  const lab = await createLabVpc({
    mode: 'dual',
    natProps: {
      portForwards: [
        { publicPort: FORWARDED_PORT, targetIp: '10.8.2.20', targetPort: LAB_ADDRESSES.hostHttpPort, allowedCidrs: [`${client}/32`] },
      ],
    },
    ...options,
  });
  expectBootSuccess(scenario, lab.runBootScript());
  return lab;
}

/** The lab's kinds of traffic: egress by TCP, UDP and ICMP from every private host, the NAT's own, a port forward. */
function representativeTraffic(lab: LabVpc, scenario: string): void {
  for (const host of lab.privateHosts) {
    expectSourceIp(lab, { scenario, from: host.node, ...internetHttp }, lab.natPublicIp);
    expectSourceIp(lab, { scenario, from: host.node, ...internetUdp }, lab.natPublicIp);
  }
  lab.exec('h3', ['python3', join(__dirname, 'harness', 'whoami.py'), 'ping', LAB_ADDRESSES.internetServerIp]);
  expectSourceIp(lab, { scenario, from: 'nat', ...internetHttp }, lab.natPublicIp);
  expectSourceIp(lab, { scenario, from: 'internet', protocol: 'tcp', host: lab.natPublicIp, port: FORWARDED_PORT, source: client }, client);
}

test('no lab packet heads outside the address plan; every namespace resolves names only against itself', async () => {
  const scenario = 'isolation: representative traffic (dual)';
  const lab = await bootedLab(scenario, { nameResolution: 'refused' });

  for (const node of NODES) {
    const own = readFileSync(join(lab.namespaceEtcDirectory(node), 'resolv.conf'), 'utf8');
    expect({ node, nameservers: own.match(/^nameserver .*$/gm) }).toEqual({ node, nameservers: ['nameserver 127.0.0.1'] });
    // What a process in the namespace reads: its own file, mounted over the host's by ip netns exec.
    expect({ node, seen: lab.exec(node, ['cat', '/etc/resolv.conf']).stdout }).toEqual({ node, seen: own });
  }
  expect(lab.readNatFile('/etc/resolv.conf')).toContain('nameserver 127.0.0.1\n');

  representativeTraffic(lab, scenario);
  for (const node of NODES) {
    // Nothing listens on the namespace's loopback: the lookup fails (exit 2, not found) without leaving.
    const lookup = lab.exec(node, ['getent', 'hosts', 'lab-lookup.example'], { check: false, timeoutMs: 30_000 });
    expect({ node, lookup: lookup.command, exit: lookup.code }).toEqual({ node, lookup: lookup.command, exit: 2 });
  }
  expect({ scenario, outsidePlan: lab.packetsOutsideAddressPlan() }).toEqual({ scenario, outsidePlan: { packets: 0, destinations: [] } });

  // Control: one datagram to an outside address, through the NAT, is counted (and dropped) at the edge.
  expectNoAnswer(lab, { scenario: `${scenario}, control`, from: 'h1', protocol: 'udp', host: OUTSIDE_ADDRESS, port: 53 });
  expect(lab.packetsOutsideAddressPlan()).toEqual({ packets: 1, destinations: [OUTSIDE_ADDRESS] });
  lab.forgetPacketsOutsideAddressPlan();

  // The NAT's namespace gets its resolver configuration back after a reboot; teardown removes them all.
  await lab.rebootNat();
  expect(existsSync(join(lab.namespaceEtcDirectory('nat'), 'resolv.conf'))).toBe(true);
  lab.teardown();
  expect(NODES.filter((node) => existsSync(lab.namespaceEtcDirectory(node)))).toEqual([]);
});

test('on a machine whose resolver the lab cannot reach, the lab builds and works, and looks nothing up', async () => {
  const scenario = 'isolation: black-holed resolver (dual)';
  // The servers start while every lookup would hang on the black-holed resolver.
  const lab = await bootedLab(scenario, { nameResolution: 'black-holed' });
  expect(lab.exec('h1', ['cat', '/etc/resolv.conf']).stdout).toContain(`nameserver ${BLACK_HOLED_RESOLVER_IP}\n`);
  expect(lab.readNatFile('/etc/resolv.conf')).toContain(`nameserver ${BLACK_HOLED_RESOLVER_IP}\n`);

  representativeTraffic(lab, scenario);
  expect({ scenario, outsidePlan: lab.packetsOutsideAddressPlan() }).toEqual({ scenario, outsidePlan: { packets: 0, destinations: [] } });

  // Control: an HTTP server from http.server as it comes, bound to h1's address, looks the address
  // up (getfqdn) at bind: it is not listening 3 s later, and its queries reached the edge.
  const [h1] = lab.privateHosts;
  const plainServer = `import http.server as s; s.HTTPServer(('${h1.ip}', 8081), s.BaseHTTPRequestHandler); print('ready', flush=True)`;
  const plain = lab.exec('h1', ['python3', '-c', plainServer], { check: false, timeoutMs: 3_000 });
  expect({ scenario, printed: plain.stdout, exit: plain.code }).toEqual({ scenario, printed: '', exit: null });
  const lookups = lab.packetsOutsideAddressPlan();
  expect({ packets: lookups.packets > 0, destinations: lookups.destinations }).toEqual({
    packets: true,
    destinations: [BLACK_HOLED_RESOLVER_IP],
  });
  lab.forgetPacketsOutsideAddressPlan();
});
