/**
 * The per-boot script converges. A second run leaves the same state;
 * after a reboot (all kernel state gone, the disk kept) it rebuilds it.
 */
import { createLabVpc, expectBootSuccess, expectSourceIp, LAB_ADDRESSES, LabVpc, requireRoot, teardownLabs } from './harness';

jest.setTimeout(90_000);
beforeAll(requireRoot);
afterEach(teardownLabs);

const internetHttp = { protocol: 'tcp', host: LAB_ADDRESSES.internetServerIp, port: LAB_ADDRESSES.internetHttpPort } as const;

/** Everything the script changes, in a comparable form (counters left out). */
function natState(lab: LabVpc): Record<string, string> {
  const sysctl = (key: string) => lab.exec('nat', ['cat', `/proc/sys/${key}`]).stdout.trim();
  return {
    ruleset: lab.exec('nat', ['nft', '--stateless', 'list', 'ruleset']).stdout,
    routes: lab.exec('nat', ['ip', '-4', 'route', 'show', 'table', 'all']).stdout,
    rules: lab.exec('nat', ['ip', '-4', 'rule', 'show']).stdout,
    kernel: ['net/ipv4/ip_forward', 'net/ipv4/conf/all/send_redirects', 'net/ipv4/conf/ens5/rp_filter', 'net/ipv4/conf/ens6/rp_filter']
      .map((key) => `${key}=${sysctl(key)}`)
      .join('\n'),
    sysctlFile: lab.readNatFile('/etc/sysctl.d/90-nat-instance.conf') ?? '(missing)',
    networkdDropIn: lab.readNatFile('/etc/systemd/network/70-ens6.network.d/nat-instance-routes.conf') ?? '(missing)',
  };
}

const portForwards = [{ publicPort: 2222, targetIp: '10.8.2.20', targetPort: 8080, allowedCidrs: ['203.0.113.5/32'] }];

test('scenario 4: a second run leaves the same ruleset, routes and kernel settings', async () => {
  const scenario = 'scenario 4: idempotent re-run (dual)';
  const lab = await createLabVpc({ mode: 'dual', natProps: { portForwards } });
  expectBootSuccess(scenario, lab.runBootScript());
  const first = natState(lab);
  expectBootSuccess(`${scenario}, second run`, lab.runBootScript());
  expect(natState(lab)).toEqual(first);
  expect(first.ruleset.match(/^table .*$/gm)).toEqual(['table ip nat_instance {']);
  expect(lab.natLog().match(/nat-instance: ready in/g)).toHaveLength(2);
  for (const host of lab.privateHosts) expectSourceIp(lab, { scenario, from: host.node, ...internetHttp }, lab.natPublicIp);
});

test('scenario 5: after a reboot (kernel state flushed, disk kept) the script restores the NAT', async () => {
  const scenario = 'scenario 5: reboot (dual)';
  const lab = await createLabVpc({ mode: 'dual', natProps: { portForwards } });
  expectBootSuccess(scenario, lab.runBootScript());
  const before = natState(lab);

  await lab.rebootNat();
  const flushed = lab.exec('nat', ['nft', 'list', 'ruleset']).stdout.trim();
  expect({ scenario, rulesetAfterReboot: flushed }).toEqual({ scenario, rulesetAfterReboot: '' });
  const broken = { scenario: `${scenario}, control before the script runs`, from: 'h2' as const, ...internetHttp };
  expect(() => expectSourceIp(lab, broken, lab.natPublicIp)).toThrow(/observed: no answer/);

  expectBootSuccess(`${scenario}, boot after reboot`, lab.runBootScript());
  expect(natState(lab)).toEqual(before);
  for (const host of lab.privateHosts) expectSourceIp(lab, { scenario, from: host.node, ...internetHttp }, lab.natPublicIp);
});
