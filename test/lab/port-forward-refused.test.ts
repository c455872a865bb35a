/**
 * Nothing optional may cost the NAT its primary job: a settings file with bad port forwards next to
 * good ones (as a hand edit, or a module whose plan-time checks were bypassed, would leave it).
 * Egress works for every private subnet, the good forwards work, the bad ones are refused and
 * reported (REFUSED lines, summary, status file, exit 2), in both modes and after a reboot.
 */
import { appendFileSync, chmodSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'fs';
import { join } from 'path';
import {
  createLabVpc,
  expectNoAnswer,
  expectSourceIp,
  LAB_ADDRESSES,
  LabVpc,
  requireRoot,
  run,
  SourceIpProbe,
  teardownLabs,
} from './harness';
import type { CommandResult } from './harness';

jest.setTimeout(120_000);

const [allowedClient] = LAB_ADDRESSES.internetClientIps;
const STATUS = '/var/lib/nat-instance/status';
const GOOD = {
  tcp: { protocol: 'tcp', publicPort: 9999, targetIp: '10.8.2.20', targetPort: LAB_ADDRESSES.hostHttpPort },
  udp: { protocol: 'udp', publicPort: 5353, targetIp: '10.8.1.20', targetPort: LAB_ADDRESSES.hostUdpPort },
} as const;
/**
 * Lines the constructs would refuse at synth (and the module at plan): a target outside the private
 * subnets (the lab's `outside` host, which does run a server), and the VPC router of a private subnet.
 */
const badLines = (lab: LabVpc) => [
  `NAT_PORT_FORWARD=tcp 9997 ${lab.outsideHost.ip} ${LAB_ADDRESSES.hostHttpPort} preserve ${allowedClient}/32`,
  `NAT_PORT_FORWARD=tcp 9996 10.8.3.1 ${LAB_ADDRESSES.hostHttpPort} preserve ${allowedClient}/32`,
];

function forwardProbe(scenario: string, protocol: 'tcp' | 'udp', port: number): SourceIpProbe {
  return { scenario, from: 'internet', protocol, host: LAB_ADDRESSES.natPublicIp, port, source: allowedClient };
}

/** Exit 2, one REFUSED line per bad forward, the degraded summary last. */
function expectDegradedBoot(scenario: string, result: CommandResult, refusedCount: number): string[] {
  const refused = result.stderr.trim().split('\n');
  const summary = result.stdout.trim().split('\n').pop();
  const shown = `[${scenario}] ${result.command}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
  expect({ shown, exit: result.code, refusedLines: refused.length }).toEqual({ shown, exit: 2, refusedLines: refusedCount });
  for (const line of refused)
    expect(line).toMatch(/^nat-instance: REFUSED: setting NAT_PORT_FORWARD '.*': .*; egress and the other forwards are not affected$/);
  expect(summary).toMatch(
    new RegExp(
      `^nat-instance: degraded in \\d+s \\(egress ready; ${refusedCount} optional setting\\(s\\) REFUSED\\): .*, 2 port forward\\(s\\), `,
    ),
  );
  return refused.map((line) => line.replace('nat-instance: REFUSED: ', ''));
}

describe.each(['single', 'dual'] as const)('bad port forwards next to good ones, %s mode', (mode) => {
  let lab: LabVpc;
  let boot: CommandResult;

  beforeAll(async () => {
    requireRoot();
    lab = await createLabVpc({
      mode,
      natProps: {
        portForwards: [
          { ...GOOD.tcp, allowedCidrs: [`${allowedClient}/32`] },
          { ...GOOD.udp, allowedCidrs: ['203.0.113.0/28'] },
        ],
      },
    });
    appendFileSync(lab.diskPath('/etc/nat-instance/settings'), `${badLines(lab).join('\n')}\n`);
    boot = lab.runBootScript();
  });
  afterAll(teardownLabs);

  test('the boot refuses exactly the bad forwards, names each, and ends degraded with exit 2', () => {
    const refused = expectDegradedBoot(`${mode}: boot`, boot, 2);
    expect(refused[0]).toContain(`target ${lab.outsideHost.ip} is not in NAT_PRIVATE_CIDRS`);
    expect(refused[1]).toContain('target 10.8.3.1 is the VPC router of 10.8.3.0/24');
    expect(boot.stdout).toContain('self-check: DEGRADED: 2 optional setting(s) refused');
  });

  test('every private subnet still has egress through the NAT', () => {
    for (const host of lab.privateHosts) {
      const probe = {
        scenario: `${mode}: egress from ${host.node}`,
        from: host.node,
        protocol: 'tcp' as const,
        host: LAB_ADDRESSES.internetServerIp,
        port: 80,
      };
      expectSourceIp(lab, probe, lab.natPublicIp);
    }
  });

  test('the good forwards work; the bad ones get no connection', () => {
    expectSourceIp(lab, forwardProbe(`${mode}: good TCP forward`, 'tcp', GOOD.tcp.publicPort), allowedClient);
    expectSourceIp(lab, forwardProbe(`${mode}: good UDP forward`, 'udp', GOOD.udp.publicPort), allowedClient);
    expectNoAnswer(lab, forwardProbe(`${mode}: refused forward to the outside host`, 'tcp', 9997));
    expect(lab.exec('nat', ['nft', 'list', 'chain', 'ip', 'nat_instance', 'prerouting']).stdout).not.toMatch(/dport (9997|9996)/);
  });

  test('monitoring sees it: the status file says degraded and lists each refused forward; the log has the REFUSED lines', () => {
    const status = lab.readNatFile(STATUS) ?? '';
    expect(status).toMatch(/^state=degraded$/m);
    expect(status.match(/^refused=setting NAT_PORT_FORWARD 'tcp (9997|9996) /gm)).toHaveLength(2);
    expect(lab.natLog().match(/nat-instance: REFUSED: /g)).toHaveLength(2);
  });

  test('after a reboot the same: egress and the good forwards back, the bad ones refused again', async () => {
    await lab.rebootNat();
    expectDegradedBoot(`${mode}: boot after reboot`, lab.runBootScript(), 2);
    expectSourceIp(
      lab,
      { scenario: `${mode}: egress after reboot`, from: 'h3', protocol: 'tcp', host: LAB_ADDRESSES.internetServerIp, port: 80 },
      lab.natPublicIp,
    );
    expectSourceIp(lab, forwardProbe(`${mode}: good TCP forward after reboot`, 'tcp', GOOD.tcp.publicPort), allowedClient);
  });
});

describe('forwards that pass the checks but that nftables refuses', () => {
  afterAll(teardownLabs);

  /**
   * An NFT DOUBLE around the real nft: it refuses any ruleset with a DNAT (standing for a forward
   * the kernel or nftables cannot take, although the script's checks passed) and passes everything
   * else to the host's nft.
   */
  function pathWithPickyNft(lab: LabVpc): string {
    const bin = join(lab.diskDirectory, 'bin');
    mkdirSync(bin, { recursive: true });
    const realNft = run(['sh', '-c', 'command -v nft']).stdout.trim();
    for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir))
        if (name !== 'nft' && !existsSync(join(bin, name))) symlinkSync(join(dir, name), join(bin, name));
    }
    writeFileSync(
      join(bin, 'nft'),
      [
        '#!/bin/bash',
        '# NFT DOUBLE: the real nft, except that it refuses every ruleset holding a DNAT.',
        'if [[ " $* " == *" -f - "* ]]; then',
        '  ruleset=$(cat)',
        '  if [[ $ruleset == *"dnat to"* ]]; then echo "Error: Could not process rule: Operation not supported (nft double)" >&2; exit 1; fi',
        `  exec ${realNft} "$@" <<< "$ruleset"`,
        'fi',
        `exec ${realNft} "$@"`,
        '',
      ].join('\n'),
    );
    chmodSync(join(bin, 'nft'), 0o755);
    return bin;
  }

  test("egress comes up without them: all forwards refused with nftables' error, exit 2", async () => {
    requireRoot();
    const lab = await createLabVpc({ mode: 'dual', natProps: { portForwards: [{ ...GOOD.tcp, allowedCidrs: [`${allowedClient}/32`] }] } });
    const result = run(['env', `PATH=${pathWithPickyNft(lab)}`, ...lab.bootScriptCommand()], { check: false, timeoutMs: 60_000 });
    expect({ exit: result.code, stderr: result.stderr.trim() }).toEqual({
      exit: 2,
      stderr:
        'nat-instance: REFUSED: nftables rejected the ruleset with the port forwards (Error: Could not process rule: Operation not supported (nft double)): ' +
        'all 1 port forward(s) left out; egress is not affected',
    });
    expectSourceIp(
      lab,
      { scenario: 'egress with forwards refused by nftables', from: 'h2', protocol: 'tcp', host: LAB_ADDRESSES.internetServerIp, port: 80 },
      lab.natPublicIp,
    );
    expectNoAnswer(lab, forwardProbe('forward refused by nftables', 'tcp', GOOD.tcp.publicPort));
    expect(lab.readNatFile(STATUS)).toMatch(/^state=degraded$/m);
  });
});
