/**
 * The boot script, rendered from the synthesized user data,
 * turns the lab NAT into a working NAT for every private subnet, and only for them.
 */
import {
  createLabVpc,
  expectBootSuccess,
  expectSourceIp,
  LAB_ADDRESSES,
  LabVpc,
  LabVpcOptions,
  requireRoot,
  SourceIpProbe,
  teardownLabs,
} from './harness';

jest.setTimeout(90_000);

const internetHttp = { protocol: 'tcp', host: LAB_ADDRESSES.internetServerIp, port: LAB_ADDRESSES.internetHttpPort } as const;
const internetUdp = { protocol: 'udp', host: LAB_ADDRESSES.internetServerIp, port: LAB_ADDRESSES.internetUdpPort } as const;

/** GIVEN a lab VPC whose NAT has booted (the per-boot script ran once and succeeded). */
async function bootedLab(scenario: string, options: LabVpcOptions): Promise<LabVpc> {
  const lab = await createLabVpc(options);
  expectBootSuccess(scenario, lab.runBootScript());
  return lab;
}

/** nftables counter of the rule with this comment in the NAT's table. */
function ruleCounter(lab: LabVpc, chain: string, comment: string): number {
  const listing = lab.exec('nat', ['nft', '-j', 'list', 'chain', 'ip', 'nat_instance', chain]).stdout;
  const rules = (JSON.parse(listing).nftables as any[]).filter((item) => item.rule?.comment === comment);
  if (rules.length !== 1) throw new Error(`expected one rule '${comment}' in chain ${chain}, found ${rules.length}`);
  const counter = (rules[0].rule.expr as any[]).find((expr) => expr.counter);
  return counter.counter.packets as number;
}

beforeAll(requireRoot);
afterEach(teardownLabs);

test('scenario 1: single-interface mode translates every private subnet to the public IP', async () => {
  const scenario = 'scenario 1: single mode';
  const lab = await bootedLab(scenario, { mode: 'single' });
  for (const host of lab.privateHosts) {
    expectSourceIp(lab, { scenario, from: host.node, ...internetHttp }, lab.natPublicIp);
  }
});

test('scenario 2: dual-interface mode forwards through ens6 and translates to the public IP', async () => {
  const scenario = 'scenario 2: dual mode';
  const lab = await bootedLab(scenario, { mode: 'dual' });
  for (const host of lab.privateHosts) {
    expectSourceIp(lab, { scenario, from: host.node, ...internetHttp }, lab.natPublicIp);
  }
  expect(lab.natLog()).toContain('public interface ens5 (10.8.0.10), forwarding interface ens6 (10.8.1.10)');
  expect(ruleCounter(lab, 'forward', 'private to internet')).toBeGreaterThanOrEqual(lab.privateHosts.length);
});

test("scenario 3: a private host outside the NAT's own subnet gets its replies back through ens6", async () => {
  const scenario = 'scenario 3: other private subnet (dual)';
  const lab = await bootedLab(scenario, { mode: 'dual' });
  const [, other] = lab.privateHosts; // 10.8.2.0/24: not the forwarding subnet 10.8.1.0/24
  const probe: SourceIpProbe = { scenario, from: other.node, ...internetHttp };
  expectSourceIp(lab, probe, lab.natPublicIp);
  expect(lab.exec('nat', ['ip', '-4', 'route', 'show', other.subnet]).stdout.trim()).toBe(`${other.subnet} via 10.8.1.1 dev ens6`);
  expect(lab.readNatFile('/etc/systemd/network/70-ens6.network.d/nat-instance-routes.conf')).toContain(
    `[Route]\nDestination=${other.subnet}\nGateway=10.8.1.1`,
  );

  // Control: without the return route the reply leaves by ens5, whose source/destination check drops it.
  lab.exec('nat', ['ip', 'route', 'del', other.subnet]);
  const without = { ...probe, scenario: `${scenario}, control without return route` };
  expect(() => expectSourceIp(lab, without, lab.natPublicIp)).toThrow(/observed: no answer/);
});

test('self-check: a route that would send replies to a private subnet out the public interface fails the boot before "ready"', async () => {
  const scenario = 'self-check: wrong-interface return path (dual)';
  const lab = await createLabVpc({ mode: 'dual' });
  // A more specific route via ens5 beats the script's return route for 10.8.2.0/24 (the wrong-interface return).
  lab.exec('nat', ['ip', 'route', 'add', '10.8.2.0/25', 'via', '10.8.0.1', 'dev', 'ens5']);
  const result = lab.runBootScript();
  expect({ scenario, exit: result.code }).toEqual({ scenario, exit: 1 });
  expect(result.stderr.trim().split('\n')).toEqual([
    "nat-instance: FAILED: self-check: replies to private subnet 10.8.2.0/24 would leave by 'ens5', not the forwarding interface ens6",
  ]);
  expect(result.stdout).not.toContain('ready');

  // Control: the same lab without the stray route passes the self-check.
  lab.exec('nat', ['ip', 'route', 'del', '10.8.2.0/25']);
  const rerun = lab.runBootScript();
  expectBootSuccess(`${scenario}, control`, rerun);
  expect(rerun.stdout).toContain('self-check passed: forwarding on, masquerade loaded, 3 private subnet(s) reached by ens6');
});

test('scenario 10: UDP and ICMP are translated too', async () => {
  const scenario = 'scenario 10: UDP and ICMP (dual)';
  const lab = await bootedLab(scenario, { mode: 'dual' });
  for (const host of lab.privateHosts) {
    expectSourceIp(lab, { scenario, from: host.node, ...internetUdp }, lab.natPublicIp);
  }
  const ping = lab.exec('h3', ['python3', `${__dirname}/harness/whoami.py`, 'ping', LAB_ADDRESSES.internetServerIp], { check: false });
  expect({ scenario, command: ping.command, exit: ping.code, stderr: ping.stderr }).toEqual({
    scenario,
    command: ping.command,
    exit: 0,
    stderr: '',
  });
  const seen = lab.exec('internet', ['nft', '-j', 'list', 'set', 'ip', 'recorder', 'icmp_sources']).stdout;
  const elements = ((JSON.parse(seen).nftables as any[]).find((item) => item.set)?.set.elem ?? []) as unknown[];
  expect({ scenario, observedIcmpSources: elements }).toEqual({ scenario, observedIcmpSources: [lab.natPublicIp] });
});

test('scenario 11: a source outside the private CIDRs is not masqueraded', async () => {
  const scenario = 'scenario 11: source outside NAT_PRIVATE_CIDRS (single)';
  const lab = await bootedLab(scenario, { mode: 'single' });
  // 10.8.4.0/24 routes through the NAT but is not one of its private subnets.
  expectSourceIp(lab, { scenario, from: lab.outsideHost.node, ...internetHttp }, lab.outsideHost.ip);
  expectSourceIp(lab, { scenario: `${scenario}, control`, from: 'h1', ...internetHttp }, lab.natPublicIp);
});

test("scenario 12: the NAT host's own traffic is untouched, outbound and inbound", async () => {
  const scenario = 'scenario 12: NAT host traffic (dual)';
  const lab = await bootedLab(scenario, { mode: 'dual' });
  const masqueradedBefore = ruleCounter(lab, 'postrouting', 'private to internet');
  // Outbound: the IGW alone maps the NAT's own address to its public IP.
  expectSourceIp(lab, { scenario, from: 'nat', ...internetHttp }, lab.natPublicIp);
  expectSourceIp(lab, { scenario, from: 'nat', ...internetUdp }, lab.natPublicIp);
  expect(ruleCounter(lab, 'postrouting', 'private to internet')).toBe(masqueradedBefore);
  // Inbound: a service on the NAT itself still sees the internet client's address.
  await lab.startWhoamiServer('nat', { http: 8080 });
  expectSourceIp(lab, { scenario, from: 'internet', protocol: 'tcp', host: lab.natPublicIp, port: 8080 }, LAB_ADDRESSES.internetServerIp);
});

test('forwarded TCP SYNs are clamped to an MSS that fits the 1500-byte internet path', async () => {
  const scenario = 'MSS clamping (dual)';
  const lab = await bootedLab(scenario, { mode: 'dual' });
  // Like an EC2 instance: a 9001-byte MTU, so the host announces MSS 8961.
  lab.exec('h2', ['ip', 'link', 'set', 'eth0', 'mtu', '9001']);
  const oversized = () =>
    JSON.parse(lab.exec('internet', ['nft', '-j', 'list', 'counter', 'ip', 'recorder', 'oversized_mss_syns']).stdout).nftables.find(
      (item: any) => item.counter,
    ).counter.packets as number;
  expectSourceIp(lab, { scenario, from: 'h2', ...internetHttp }, lab.natPublicIp);
  expect({ scenario, oversizedSynsAtServer: oversized() }).toEqual({ scenario, oversizedSynsAtServer: 0 });
  expect(ruleCounter(lab, 'forward', 'MSS clamp: internet MTU 1500')).toBeGreaterThan(0);

  // Control: without the clamp the 8961-byte MSS reaches the internet.
  const handle = JSON.parse(lab.exec('nat', ['nft', '-j', '-a', 'list', 'chain', 'ip', 'nat_instance', 'forward']).stdout).nftables.find(
    (item: any) => item.rule?.comment === 'MSS clamp: internet MTU 1500',
  ).rule.handle;
  lab.exec('nat', ['nft', 'delete', 'rule', 'ip', 'nat_instance', 'forward', 'handle', String(handle)]);
  expectSourceIp(lab, { scenario: `${scenario}, control`, from: 'h2', ...internetHttp }, lab.natPublicIp);
  expect(oversized()).toBeGreaterThan(0);
});

test("scenario 12b: the NAT host's own traffic stays untranslated even when a private CIDR covers the NAT", async () => {
  const scenario = 'scenario 12b: NAT host traffic, private CIDRs covering the NAT (dual)';
  // A peered/Transit Gateway range that happens to contain the whole VPC, the NAT's own addresses included.
  const lab = await bootedLab(scenario, { mode: 'dual', natProps: { additionalCidrs: ['10.0.0.0/8'] } });
  const masqueradedBefore = ruleCounter(lab, 'postrouting', 'private to internet');
  expectSourceIp(lab, { scenario, from: 'nat', ...internetHttp }, lab.natPublicIp);
  expectSourceIp(lab, { scenario, from: 'nat', ...internetUdp }, lab.natPublicIp);
  expect({ scenario, hostPacketsMasqueraded: ruleCounter(lab, 'postrouting', 'private to internet') - masqueradedBefore }).toEqual({
    scenario,
    hostPacketsMasqueraded: 0,
  });
  // Control: private hosts are still translated.
  expectSourceIp(lab, { scenario: `${scenario}, control`, from: 'h3', ...internetHttp }, lab.natPublicIp);
  expect(ruleCounter(lab, 'postrouting', 'private to internet')).toBeGreaterThan(masqueradedBefore);
});
