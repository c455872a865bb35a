/**
 * Issue 3, scenario 8: an invalid settings file stops the script before it changes anything,
 * with one line naming the setting.
 */
import { writeFileSync } from 'fs';
import { createLabVpc, LabVpc, requireRoot, teardownLabs } from './harness';

jest.setTimeout(90_000);

let lab: LabVpc;
let validSettings: string;

beforeAll(async () => {
  requireRoot();
  lab = await createLabVpc({ mode: 'dual', natProps: { portForwards: [{ publicPort: 2222, targetIp: '10.8.2.20', targetPort: 22, allowedCidrs: ['203.0.113.5/32'] }] } });
  validSettings = lab.readNatFile('/etc/nat-instance/settings') ?? '';
});
afterAll(teardownLabs);

/** Replaces (or, when absent, appends) the line of `key`. */
function withLine(settings: string, key: string, line: string): string {
  const pattern = new RegExp(`^${key}=.*$`, 'm');
  return pattern.test(settings) ? settings.replace(pattern, line) : `${settings}${line}\n`;
}

const cases: Array<[string, (settings: string) => string, RegExp]> = [
  ['unknown key', (s) => `${s}NAT_COLOUR=blue\n`, /unknown setting 'NAT_COLOUR'/],
  ['line without =', (s) => `${s}NAT_MODE dual\n`, /settings line \d+ is not KEY=value/],
  ['bad mode', (s) => withLine(s, 'NAT_MODE', 'NAT_MODE=triple'), /setting NAT_MODE must be single or dual, got 'triple'/],
  ['mode twice', (s) => `${s}NAT_MODE=single\n`, /setting NAT_MODE appears twice/],
  ['missing private CIDRs', (s) => s.replace(/^NAT_PRIVATE_CIDRS=.*\n/m, ''), /setting NAT_PRIVATE_CIDRS is missing/],
  ['CIDR prefix out of range', (s) => withLine(s, 'NAT_PRIVATE_CIDRS', 'NAT_PRIVATE_CIDRS=10.8.1.0/33'), /setting NAT_PRIVATE_CIDRS: '10.8.1.0\/33'/],
  ['CIDR with host bits', (s) => withLine(s, 'NAT_PRIVATE_CIDRS', 'NAT_PRIVATE_CIDRS=10.8.1.5/24,10.8.2.0/24'), /setting NAT_PRIVATE_CIDRS: '10.8.1.5\/24'/],
  ['empty CIDR item', (s) => withLine(s, 'NAT_PRIVATE_CIDRS', 'NAT_PRIVATE_CIDRS=10.8.1.0/24,,10.8.2.0/24'), /setting NAT_PRIVATE_CIDRS has an empty item/],
  ['no forwarding subnet in dual mode', (s) => s.replace(/^NAT_FORWARDING_SUBNET_CIDR=.*\n/m, ''), /setting NAT_FORWARDING_SUBNET_CIDR must be/],
  ['wait not a number', (s) => withLine(s, 'NAT_INTERFACE_WAIT_SECONDS', 'NAT_INTERFACE_WAIT_SECONDS=soon'), /setting NAT_INTERFACE_WAIT_SECONDS must be an integer/],
  ['conntrack too small', (s) => withLine(s, 'NAT_CONNTRACK_MAX', 'NAT_CONNTRACK_MAX=10'), /setting NAT_CONNTRACK_MAX must be an integer from 1024/],
  ['no public address', (s) => withLine(s, 'NAT_PUBLIC_ADDRESS_COUNT', 'NAT_PUBLIC_ADDRESS_COUNT=0'), /setting NAT_PUBLIC_ADDRESS_COUNT must be an integer from 1 to 50, got '0'/],
  ['bad route mode', (s) => withLine(s, 'NAT_ROUTE_MODE', 'NAT_ROUTE_MODE=manual'), /setting NAT_ROUTE_MODE must be terraform or self-claim/],
  [
    'bad route-table ID',
    (s) => withLine(withLine(s, 'NAT_ROUTE_MODE', 'NAT_ROUTE_MODE=self-claim'), 'NAT_ROUTE_TABLE_IDS', 'NAT_ROUTE_TABLE_IDS=rtb-0abc,subnet-1'),
    /setting NAT_ROUTE_TABLE_IDS: 'subnet-1' is not a route-table ID/,
  ],
  ['port out of range', (s) => withLine(s, 'NAT_PORT_FORWARD', 'NAT_PORT_FORWARD=tcp 70000 10.8.2.20 22 preserve 203.0.113.5/32'), /setting NAT_PORT_FORWARD .*public port must be 1-65535/],
  ['forward target outside the private CIDRs', (s) => withLine(s, 'NAT_PORT_FORWARD', 'NAT_PORT_FORWARD=tcp 2222 10.9.0.5 22 preserve 203.0.113.5/32'), /target 10.9.0.5 is not in NAT_PRIVATE_CIDRS/],
  ['forward with a bad source', (s) => withLine(s, 'NAT_PORT_FORWARD', 'NAT_PORT_FORWARD=udp 53 10.8.2.20 53 masquerade 203.0.113.5'), /source '203.0.113.5' is not an IPv4 CIDR block/],
  ['forward with a bad translation', (s) => withLine(s, 'NAT_PORT_FORWARD', 'NAT_PORT_FORWARD=tcp 2222 10.8.2.20 22 hide 203.0.113.5/32'), /translation must be preserve or masquerade/],
  ['public port forwarded twice', (s) => `${s}NAT_PORT_FORWARD=tcp 2222 10.8.3.20 22 preserve 203.0.113.5/32\n`, /public port tcp\/2222 is forwarded twice/],
];

test.each(cases)('scenario 8: invalid settings (%s) exit before any change, naming the setting', (name, mutate, reason) => {
  const scenario = `scenario 8: ${name}`;
  const settingsPath = lab.diskPath('/etc/nat-instance/settings');
  writeFileSync(settingsPath, mutate(validSettings));
  const routesBefore = lab.exec('nat', ['ip', '-4', 'route', 'show', 'table', 'all']).stdout;
  const result = lab.runBootScript(20_000);

  expect({ scenario, exit: result.code }).toEqual({ scenario, exit: 1 });
  const lines = result.stderr.trim().split('\n');
  expect({ scenario, stderrLines: lines.length }).toEqual({ scenario, stderrLines: 1 });
  expect(lines[0]).toMatch(/^nat-instance: FAILED: /);
  expect(lines[0]).toMatch(reason);
  // Nothing changed: no ruleset, forwarding off, same routes, nothing persisted.
  expect(lab.exec('nat', ['nft', 'list', 'ruleset']).stdout.trim()).toBe('');
  expect(lab.exec('nat', ['cat', '/proc/sys/net/ipv4/ip_forward']).stdout.trim()).toBe('0');
  expect(lab.exec('nat', ['ip', '-4', 'route', 'show', 'table', 'all']).stdout).toBe(routesBefore);
  expect(lab.readNatFile('/etc/sysctl.d/90-nat-instance.conf')).toBeUndefined();
});

test('scenario 8 control: the unmodified settings boot', () => {
  writeFileSync(lab.diskPath('/etc/nat-instance/settings'), validSettings);
  const result = lab.runBootScript(20_000);
  expect({ exit: result.code, stderr: result.stderr }).toEqual({ exit: 0, stderr: '' });
});
