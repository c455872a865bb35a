/**
 * Several public addresses (`publicIpCount`), in the network-namespace lab: the NAT's public
 * interface carries 10.8.0.10 and 10.8.0.11 (EC2's secondary private address, as
 * amazon-ec2-net-utils configures it), the internet gateway maps them to 192.0.2.10 and
 * 192.0.2.11, and the boot script read back from the synthesized user data translates over both.
 * The what-is-my-IP server on the internet reports which public address each flow arrived from.
 */
import { join } from 'path';
import { createLabVpc, expectBootSuccess, LAB_ADDRESSES, LabVpc, requireRoot, teardownLabs } from './harness';

jest.setTimeout(180_000);

beforeAll(requireRoot);
afterEach(teardownLabs);

const SERVER = LAB_ADDRESSES.internetServerIp;

/** The public address the internet server sees for one TCP connection from `sourcePort` of h1. */
function tcpFlowAddress(lab: LabVpc, sourcePort: number): string {
  const url = `http://${SERVER}:${LAB_ADDRESSES.internetHttpPort}/`;
  return lab
    .exec('h1', ['curl', '-sS', '--connect-timeout', '3', '--max-time', '5', '--local-port', String(sourcePort), url])
    .stdout.trim();
}

/** One UDP datagram from h1's `sourcePort` (the same flow every time): the public address the server saw. */
function udpFlowAddress(lab: LabVpc, sourcePort: number): string {
  const script = [
    'import socket, sys',
    's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
    's.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
    `s.bind(("", ${sourcePort}))`,
    's.settimeout(3)',
    `s.sendto(b"who", ("${SERVER}", ${LAB_ADDRESSES.internetUdpPort}))`,
    'print(s.recvfrom(2048)[0].decode().strip())',
  ].join('\n');
  return lab.exec('h1', ['python3', '-c', script]).stdout.trim();
}

/** Forgets the NAT's tracking entry of h1's UDP flow from `sourcePort`; fails unless one was deleted. */
function dropTrackingEntry(lab: LabVpc, sourcePort: number): void {
  const result = lab.exec(
    'nat',
    ['conntrack', '-D', '-p', 'udp', '--orig-src', lab.privateHosts[0].ip, '--orig-port-src', String(sourcePort)],
    { check: false },
  );
  expect(`${result.stdout}${result.stderr}`).toMatch(/1 flow entries have been deleted/);
}

const PORTS = Array.from({ length: 16 }, (_, i) => 40_001 + i);

test('GIVEN two public addresses WHEN h1 opens 16 TCP connections to one destination THEN they leave from both addresses, and ICMP from one of them', async () => {
  const lab = await createLabVpc({ mode: 'single', natProps: { publicIpCount: 2 } });
  expectBootSuccess('address pool, single mode', lab.runBootScript());
  expect(lab.natLog()).toContain('source NAT over 2 addresses (flow hash) of 3 private CIDR(s) via ens5');

  const seen = PORTS.map((port) => tcpFlowAddress(lab, port));
  expect(new Set(seen)).toEqual(new Set(['192.0.2.10', '192.0.2.11']));

  lab.exec('h1', ['python3', join(__dirname, 'harness', 'whoami.py'), 'ping', SERVER, '--timeout', '3']);
  const icmpSources = lab.exec('internet', ['nft', 'list', 'set', 'ip', 'recorder', 'icmp_sources']).stdout;
  const icmpFrom = lab.natPublicIps.filter((ip) => icmpSources.includes(ip));
  expect(icmpFrom).toHaveLength(1);
});

test('GIVEN two public addresses in dual mode WHEN a UDP flow is repeated, loses its tracking entry, and the ruleset is reloaded THEN it keeps its address', async () => {
  const lab = await createLabVpc({ mode: 'dual', natProps: { publicIpCount: 2 } });
  expectBootSuccess('address pool, dual mode', lab.runBootScript());

  // One flow per public address, so a flow that "keeps" its address is not simply on the primary.
  const first = new Map<string, number>();
  for (const port of PORTS.map((tcpPort) => tcpPort + 1000)) {
    const address = udpFlowAddress(lab, port);
    if (!first.has(address)) first.set(address, port);
  }
  expect([...first.keys()].sort()).toEqual(['192.0.2.10', '192.0.2.11']);

  for (const [address, port] of first) {
    expect([udpFlowAddress(lab, port), udpFlowAddress(lab, port)]).toEqual([address, address]);
    // Chosen afresh each time the entry is gone: a round robin or a random pick would move it.
    const afterLoss = [1, 2, 3].map(() => {
      dropTrackingEntry(lab, port);
      return udpFlowAddress(lab, port);
    });
    expect({ port, afterLoss }).toEqual({ port, afterLoss: [address, address, address] });
  }
  expectBootSuccess('address pool, dual mode, re-run', lab.runBootScript());
  for (const [address, port] of first) {
    expect({ port, after: 'ruleset reloaded', address: udpFlowAddress(lab, port) }).toEqual({ port, after: 'ruleset reloaded', address });
  }
});

test('GIVEN two public addresses wanted WHEN the secondary address never appears THEN the NAT warns and egresses from the primary alone', async () => {
  const lab = await createLabVpc({ mode: 'single', natProps: { publicIpCount: 2, interfaceWaitSeconds: 2 }, publicAddresses: 1 });
  const result = lab.runBootScript();
  expectBootSuccess('address pool, secondary address missing', result);
  expect(result.stdout).toContain('WARNING: ens5 has 1 of NAT_PUBLIC_ADDRESS_COUNT=2 addresses: translating over 10.8.0.10 only');
  expect(new Set(PORTS.slice(0, 4).map((port) => tcpFlowAddress(lab, port)))).toEqual(new Set([LAB_ADDRESSES.natPublicIp]));
});
