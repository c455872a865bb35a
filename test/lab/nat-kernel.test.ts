/**
 * The NAT's kernel settings, each by what it does: the loose reverse-path filter on every NAT
 * interface (a flow whose replies leave by the other interface passes), and the persisted
 * settings file, which alone restores forwarding after a reboot. The lab NAT boots filtering
 * strictly by reverse path and without forwarding, like a fresh host.
 */
import {
  createLabVpc,
  expectBootSuccess,
  expectNoAnswer,
  expectSourceIp,
  LAB_ADDRESSES,
  LabVpc,
  requireRoot,
  SourceIpProbe,
  teardownLabs,
} from './harness';

jest.setTimeout(120_000);
beforeAll(requireRoot);
afterEach(teardownLabs);

const internetHttp = { protocol: 'tcp', host: LAB_ADDRESSES.internetServerIp, port: LAB_ADDRESSES.internetHttpPort } as const;
const SYSCTL_FILE = '/etc/sysctl.d/90-nat-instance.conf';

/** Kernel settings of the NAT namespace as the kernel has them now. */
function natKernel(lab: LabVpc, keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.map((key) => [key, lab.exec('nat', ['cat', `/proc/sys/${key}`]).stdout.trim()]));
}

test('loose reverse-path filter on every NAT interface: requests arriving by ens5 whose replies leave by ens6 pass (dual)', async () => {
  const scenario = 'loose reverse-path filter (dual)';
  const lab = await createLabVpc({ mode: 'dual' });
  expectBootSuccess(scenario, lab.runBootScript());
  // Private traffic delivered to the primary interface: the way back to its source is ens6.
  lab.pointPrivateRouteTableAt(LAB_ADDRESSES.natPublicSubnetIp);
  const probes: SourceIpProbe[] = lab.privateHosts.slice(0, 2).map((host) => ({ scenario, from: host.node, ...internetHttp }));
  for (const probe of probes) expectSourceIp(lab, probe, lab.natPublicIp);
  for (const host of lab.privateHosts.slice(0, 2)) {
    expect(lab.exec('nat', ['ip', '-4', 'route', 'get', host.ip]).stdout).toContain(' dev ens6 ');
  }
  // The effective filter is max(all, interface): the NAT's `all` stays strict, each interface is loose.
  expect(natKernel(lab, ['net/ipv4/conf/all/rp_filter', 'net/ipv4/conf/ens5/rp_filter', 'net/ipv4/conf/ens6/rp_filter'])).toEqual({
    'net/ipv4/conf/all/rp_filter': '1',
    'net/ipv4/conf/ens5/rp_filter': '2',
    'net/ipv4/conf/ens6/rp_filter': '2',
  });

  // Control: strict filtering on the NAT's interfaces drops the same requests...
  lab.exec('nat', ['sysctl', '-q', '-w', 'net.ipv4.conf.ens5.rp_filter=1', 'net.ipv4.conf.ens6.rp_filter=1']);
  for (const probe of probes) expectNoAnswer(lab, { ...probe, scenario: `${scenario}, control: strict filter` });
  // ...and only them: with the route table back at ens6, requests and replies share an interface.
  lab.pointPrivateRouteTableAt(lab.natForwardingIp);
  for (const probe of probes)
    expectSourceIp(lab, { ...probe, scenario: `${scenario}, control: strict filter, symmetric flow` }, lab.natPublicIp);
});

test('the persisted kernel settings hold forwarding, redirects, loose filtering and the table size, and alone restore forwarding after a reboot', async () => {
  const scenario = 'persisted kernel settings (single)';
  const lab = await createLabVpc({ mode: 'single', natProps: { conntrackMax: 131072 } });
  expectBootSuccess(scenario, lab.runBootScript());
  const persisted = lab.readNatFile(SYSCTL_FILE) ?? '';
  const [h1] = lab.privateHosts;
  // No ruleset after a reboot without the script: forwarded packets keep their private source,
  // which the lab's IGW lets through, so the answer proves forwarding alone.
  const probe: SourceIpProbe = { scenario, from: h1.node, ...internetHttp };
  const restoredKeys = [
    'net/ipv4/ip_forward',
    'net/ipv4/conf/all/send_redirects',
    'net/ipv4/conf/default/send_redirects',
    'net/ipv4/conf/ens5/send_redirects',
    'net/ipv4/conf/ens5/rp_filter',
  ];

  /** A reboot that applies only the settings file on the NAT's disk (what systemd-sysctl does at boot), never the script. */
  const rebootApplyingOnly = async (label: string) => {
    await lab.rebootNat();
    expect({ label, fresh: natKernel(lab, restoredKeys) }).toEqual({
      label,
      fresh: {
        'net/ipv4/ip_forward': '0',
        'net/ipv4/conf/all/send_redirects': '1',
        'net/ipv4/conf/default/send_redirects': '1',
        'net/ipv4/conf/ens5/send_redirects': '1',
        'net/ipv4/conf/ens5/rp_filter': '1',
      },
    });
    const applied = lab.exec('nat', ['sysctl', '-p', lab.diskPath(SYSCTL_FILE)], { check: false });
    // The table size is the one setting a network namespace refuses (read-only there).
    const refused = applied.stderr.split('\n').filter((line) => line.trim() && !line.includes('nf_conntrack_max'));
    expect({ label, exit: applied.code, refused }).toEqual({ label, exit: 0, refused: [] });
  };

  await rebootApplyingOnly(scenario);
  expectSourceIp(lab, probe, h1.ip);
  expect(natKernel(lab, restoredKeys)).toEqual({
    'net/ipv4/ip_forward': '1',
    'net/ipv4/conf/all/send_redirects': '0',
    'net/ipv4/conf/default/send_redirects': '0',
    'net/ipv4/conf/ens5/send_redirects': '0',
    'net/ipv4/conf/ens5/rp_filter': '2',
  });
  const settings = persisted
    .split('\n')
    .filter((line) => line.trim() && !line.startsWith('#'))
    .map((line) => line.split('=').map((part) => part.trim()));
  expect(Object.fromEntries(settings)).toEqual({
    'net/ipv4/ip_forward': '1',
    'net/ipv4/conf/all/send_redirects': '0',
    'net/ipv4/conf/default/send_redirects': '0',
    'net/ipv4/conf/ens5/send_redirects': '0',
    'net/ipv4/conf/ens5/rp_filter': '2',
    'net/netfilter/nf_conntrack_max': '131072',
  });

  // Control: the same file without its forwarding line restores no forwarding.
  lab.writeNatFile(SYSCTL_FILE, persisted.replace(/^net\/ipv4\/ip_forward = 1\n/m, ''));
  await rebootApplyingOnly(`${scenario}, control without ip_forward`);
  expectNoAnswer(lab, { ...probe, scenario: `${scenario}, control without ip_forward` });
});
