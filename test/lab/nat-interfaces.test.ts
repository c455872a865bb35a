/**
 * The secondary interface is found by its subnet, not its name, and the
 * script waits for it (bounded) when EC2 attaches it after boot.
 */
import { createLabVpc, expectBootSuccess, expectSourceIp, LAB_ADDRESSES, requireRoot, sleep, teardownLabs } from './harness';

jest.setTimeout(90_000);
beforeAll(requireRoot);
afterEach(teardownLabs);

const internetHttp = { protocol: 'tcp', host: LAB_ADDRESSES.internetServerIp, port: LAB_ADDRESSES.internetHttpPort } as const;

test('scenario 6: a secondary interface attached 10 s after the script starts is waited for and used', async () => {
  const scenario = 'scenario 6: late secondary interface';
  const lab = await createLabVpc({ mode: 'dual', secondaryInterface: 'manual', natProps: { interfaceWaitSeconds: 40 } });
  const boot = lab.startBootScript(60_000);
  await sleep(10_000);
  lab.attachSecondaryInterface();
  const result = await boot;
  expectBootSuccess(scenario, result);
  expect(result.stdout).toContain('waiting up to 40s for an interface in 10.8.1.0/24');
  expect(result.stdout).toMatch(/forwarding interface ens6 \(10\.8\.1\.10\), found after (9|[1-3]\d)s/);
  for (const host of lab.privateHosts) expectSourceIp(lab, { scenario, from: host.node, ...internetHttp }, lab.natPublicIp);
});

test('scenario 7: a secondary interface that never comes fails the boot with one line and leaves no ruleset', async () => {
  const scenario = 'scenario 7: secondary interface never attached';
  const lab = await createLabVpc({ mode: 'dual', secondaryInterface: 'never', natProps: { interfaceWaitSeconds: 3 } });
  // Bounded: the script must give up by itself long before this run timeout.
  const result = lab.runBootScript(20_000);
  expect({ scenario, exit: result.code }).toEqual({ scenario, exit: 1 });
  expect(result.stderr.trim().split('\n')).toEqual([
    'nat-instance: FAILED: no interface with an address in NAT_FORWARDING_SUBNET_CIDR 10.8.1.0/24 after 3s: the secondary interface was never attached',
  ]);
  expect(result.stdout).not.toContain('ready');
  expect(lab.exec('nat', ['nft', 'list', 'ruleset']).stdout.trim()).toBe('');
  expect(lab.exec('nat', ['cat', '/proc/sys/net/ipv4/ip_forward']).stdout.trim()).toBe('0');
  expect(lab.natLog()).toContain('FAILED: no interface with an address in NAT_FORWARDING_SUBNET_CIDR');
});
