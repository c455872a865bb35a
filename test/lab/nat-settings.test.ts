/**
 * Scenario 8 of the lab's boot-script scenarios (test/lab/README.md), and the rule "nothing
 * optional may cost the NAT its primary job":
 * - a setting egress depends on, invalid, stops the script before it changes anything, with one
 *   line naming the setting (exit 1);
 * - an optional setting, invalid (a port forward, the conntrack size, the interface wait, the
 *   public address count, an unknown or malformed line), is refused with one REFUSED line naming it, and the NAT comes up
 *   without it: ruleset loaded, forwarding on, summary and status file say "degraded", exit 2.
 */
import { rmSync, writeFileSync } from 'fs';
import { createLabVpc, LabVpc, requireRoot, teardownLabs } from './harness';

jest.setTimeout(90_000);

let lab: LabVpc;
let validSettings: string;
const STATUS = '/var/lib/nat-instance/status';

beforeAll(async () => {
  requireRoot();
  lab = await createLabVpc({
    mode: 'dual',
    natProps: { portForwards: [{ publicPort: 2222, targetIp: '10.8.2.20', targetPort: 22, allowedCidrs: ['203.0.113.5/32'] }] },
  });
  validSettings = lab.readNatFile('/etc/nat-instance/settings') ?? '';
});
afterAll(teardownLabs);

/** Replaces (or, when absent, appends) the line of `key`. */
function withLine(settings: string, key: string, line: string): string {
  const pattern = new RegExp(`^${key}=.*$`, 'm');
  return pattern.test(settings) ? settings.replace(pattern, line) : `${settings}${line}\n`;
}

/** The NAT as before its first boot: no ruleset, forwarding off, no status. */
function resetNat(): void {
  lab.exec('nat', ['nft', 'flush', 'ruleset']);
  lab.exec('nat', ['sh', '-c', 'echo 0 > /proc/sys/net/ipv4/ip_forward']);
  for (const path of [STATUS, '/etc/sysctl.d/90-nat-instance.conf']) rmSync(lab.diskPath(path), { force: true });
}

function bootWith(settings: string) {
  writeFileSync(lab.diskPath('/etc/nat-instance/settings'), settings);
  return lab.runBootScript(20_000);
}

const fatal: Array<[string, (settings: string) => string, RegExp]> = [
  ['bad mode', (s) => withLine(s, 'NAT_MODE', 'NAT_MODE=triple'), /setting NAT_MODE must be single or dual, got 'triple'/],
  ['mode twice', (s) => `${s}NAT_MODE=single\n`, /setting NAT_MODE appears twice/],
  ['missing private CIDRs', (s) => s.replace(/^NAT_PRIVATE_CIDRS=.*\n/m, ''), /setting NAT_PRIVATE_CIDRS is missing/],
  [
    'CIDR prefix out of range',
    (s) => withLine(s, 'NAT_PRIVATE_CIDRS', 'NAT_PRIVATE_CIDRS=10.8.1.0/33'),
    /setting NAT_PRIVATE_CIDRS holds '10.8.1.0\/33', which is not an IPv4 CIDR block/,
  ],
  [
    'CIDR with host bits',
    (s) => withLine(s, 'NAT_PRIVATE_CIDRS', 'NAT_PRIVATE_CIDRS=10.8.1.5/24,10.8.2.0/24'),
    /setting NAT_PRIVATE_CIDRS holds '10.8.1.5\/24'/,
  ],
  [
    'empty CIDR item',
    (s) => withLine(s, 'NAT_PRIVATE_CIDRS', 'NAT_PRIVATE_CIDRS=10.8.1.0/24,,10.8.2.0/24'),
    /setting NAT_PRIVATE_CIDRS has an empty item/,
  ],
  [
    'no forwarding subnet in dual mode',
    (s) => s.replace(/^NAT_FORWARDING_SUBNET_CIDR=.*\n/m, ''),
    /setting NAT_FORWARDING_SUBNET_CIDR is required in dual mode/,
  ],
  [
    'a forwarding subnet that is not a CIDR',
    (s) => withLine(s, 'NAT_FORWARDING_SUBNET_CIDR', 'NAT_FORWARDING_SUBNET_CIDR=10.8.1.0'),
    /setting NAT_FORWARDING_SUBNET_CIDR must be an IPv4 CIDR block, got '10.8.1.0'/,
  ],
  [
    'bad route mode',
    (s) => withLine(s, 'NAT_ROUTE_MODE', 'NAT_ROUTE_MODE=manual'),
    /setting NAT_ROUTE_MODE must be terraform or self-claim/,
  ],
  [
    'bad route-table ID',
    (s) =>
      withLine(withLine(s, 'NAT_ROUTE_MODE', 'NAT_ROUTE_MODE=self-claim'), 'NAT_ROUTE_TABLE_IDS', 'NAT_ROUTE_TABLE_IDS=rtb-0abc,subnet-1'),
    /setting NAT_ROUTE_TABLE_IDS holds 'subnet-1', which is not a route-table ID/,
  ],
  [
    'route tables without self-claim',
    (s) => `${s}NAT_ROUTE_TABLE_IDS=rtb-0abc\n`,
    /setting NAT_ROUTE_TABLE_IDS applies only to NAT_ROUTE_MODE=self-claim/,
  ],
];

test.each(fatal)(
  'scenario 8: an invalid setting egress depends on (%s) exits 1 before any change, naming the setting',
  (name, mutate, reason) => {
    const scenario = `scenario 8: ${name}`;
    resetNat();
    const routesBefore = lab.exec('nat', ['ip', '-4', 'route', 'show', 'table', 'all']).stdout;
    const result = bootWith(mutate(validSettings));

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
    // Monitoring sees the failure and its reason.
    expect(lab.readNatFile(STATUS)).toMatch(/^state=failed$/m);
    expect(lab.readNatFile(STATUS)).toContain(`detail=${lines[0].replace('nat-instance: FAILED: ', '')}`);
  },
);

const refused: Array<[string, (settings: string) => string, RegExp]> = [
  ['unknown key', (s) => `${s}NAT_COLOUR=blue\n`, /unknown setting 'NAT_COLOUR' .*ignored/],
  ['line without =', (s) => `${s}NAT_MODE dual\n`, /settings line \d+ is not KEY=value: 'NAT_MODE dual' \(ignored\)/],
  [
    'wait not a number',
    (s) => withLine(s, 'NAT_INTERFACE_WAIT_SECONDS', 'NAT_INTERFACE_WAIT_SECONDS=soon'),
    /setting NAT_INTERFACE_WAIT_SECONDS must be an integer from 0 to 3600, got 'soon'; the default 120 is used/,
  ],
  [
    'conntrack too small',
    (s) => withLine(s, 'NAT_CONNTRACK_MAX', 'NAT_CONNTRACK_MAX=10'),
    /setting NAT_CONNTRACK_MAX must be an integer from 1024 to 67108864, got '10'; the default 262144 is used/,
  ],
  [
    'no public address',
    (s) => withLine(s, 'NAT_PUBLIC_ADDRESS_COUNT', 'NAT_PUBLIC_ADDRESS_COUNT=0'),
    /setting NAT_PUBLIC_ADDRESS_COUNT must be an integer from 1 to 50, got '0'; the default 1 is used/,
  ],
  [
    'conntrack twice',
    (s) => `${s}NAT_CONNTRACK_MAX=2048\n`,
    /setting NAT_CONNTRACK_MAX appears again on line \d+ \(ignored: the first one counts\)/,
  ],
  [
    'port out of range',
    (s) => withLine(s, 'NAT_PORT_FORWARD', 'NAT_PORT_FORWARD=tcp 70000 10.8.2.20 22 preserve 203.0.113.5/32'),
    /setting NAT_PORT_FORWARD 'tcp 70000 .*': public port must be an integer from 1 to 65535/,
  ],
  [
    'forward target outside the private CIDRs',
    (s) => withLine(s, 'NAT_PORT_FORWARD', 'NAT_PORT_FORWARD=tcp 2222 10.9.0.5 22 preserve 203.0.113.5/32'),
    /target 10.9.0.5 is not in NAT_PRIVATE_CIDRS/,
  ],
  [
    'forward target on the VPC router',
    (s) => withLine(s, 'NAT_PORT_FORWARD', 'NAT_PORT_FORWARD=tcp 2222 10.8.2.1 22 preserve 203.0.113.5/32'),
    /target 10.8.2.1 is the VPC router of 10.8.2.0\/24/,
  ],
  [
    'forward target on the broadcast address',
    (s) => withLine(s, 'NAT_PORT_FORWARD', 'NAT_PORT_FORWARD=tcp 2222 10.8.3.255 22 preserve 203.0.113.5/32'),
    /target 10.8.3.255 is the broadcast address of 10.8.3.0\/24/,
  ],
  [
    'forward with a bad source',
    (s) => withLine(s, 'NAT_PORT_FORWARD', 'NAT_PORT_FORWARD=udp 53 10.8.2.20 53 masquerade 203.0.113.5'),
    /sources holds '203.0.113.5', which is not an IPv4 CIDR block/,
  ],
  [
    'forward with a bad translation',
    (s) => withLine(s, 'NAT_PORT_FORWARD', 'NAT_PORT_FORWARD=tcp 2222 10.8.2.20 22 hide 203.0.113.5/32'),
    /translation must be preserve or masquerade, got 'hide'/,
  ],
  [
    'public port forwarded twice',
    (s) => `${s}NAT_PORT_FORWARD=tcp 2222 10.8.3.20 22 preserve 203.0.113.5/32\n`,
    /public port tcp\/2222 is already forwarded by an earlier line/,
  ],
];

test.each(refused)(
  'an invalid optional setting (%s) is refused loudly, and the NAT comes up without it (exit 2)',
  (name, mutate, reason) => {
    const scenario = `refused: ${name}`;
    resetNat();
    const result = bootWith(mutate(validSettings));

    expect({ scenario, exit: result.code }).toEqual({ scenario, exit: 2 });
    const lines = result.stderr.trim().split('\n');
    expect({ scenario, stderr: lines }).toEqual({ scenario, stderr: [expect.stringMatching(/^nat-instance: REFUSED: /)] });
    expect(lines[0]).toMatch(reason);
    // Egress is up: masquerade loaded, forwarding on; the summary and the status say degraded.
    expect(lab.exec('nat', ['nft', 'list', 'chain', 'ip', 'nat_instance', 'postrouting']).stdout).toContain('masquerade');
    expect(lab.exec('nat', ['cat', '/proc/sys/net/ipv4/ip_forward']).stdout.trim()).toBe('1');
    const summary = result.stdout.trim().split('\n').pop();
    expect({ scenario, summary }).toEqual({
      scenario,
      summary: expect.stringMatching(/^nat-instance: degraded in \d+s \(egress ready; 1 optional setting\(s\) REFUSED\): mode dual, /),
    });
    const status = lab.readNatFile(STATUS) ?? '';
    expect(status).toMatch(/^state=degraded$/m);
    expect(status).toContain(`refused=${lines[0].replace('nat-instance: REFUSED: ', '')}`);
    expect(lab.natLog()).toContain(lines[0]);
  },
);

test('scenario 8 control: the unmodified settings boot ready, exit 0, status ready', () => {
  resetNat();
  const result = bootWith(validSettings);
  expect({ exit: result.code, stderr: result.stderr }).toEqual({ exit: 0, stderr: '' });
  expect(lab.readNatFile(STATUS)).toMatch(/^state=ready$/m);
  expect(lab.readNatFile(STATUS)).not.toContain('refused=');
});
