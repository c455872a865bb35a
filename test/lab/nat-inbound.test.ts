/**
 * No unsolicited inbound: a new connection from an internet address to a private host's address,
 * arriving at the NAT's public interface (as a neighbour in the public subnet could send it), gets
 * nothing — the private host never sees it. Port forwards are the only way in (port-forward.test.ts).
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

const DROP_RULE = 'no unsolicited inbound to private hosts';
const attacker = LAB_ADDRESSES.internetClientIps[1];

/** Counts, in the private host's namespace, every packet from the attacker's address that reaches it. */
function watchForAttacker(lab: LabVpc, node: 'h2'): () => number {
  lab.exec(node, ['nft', '-f', '-'], {
    input: `table ip witness {
      counter from_attacker { }
      chain prerouting {
        type filter hook prerouting priority raw; policy accept;
        ip saddr ${attacker} counter name from_attacker
      }
    }`,
  });
  return () =>
    JSON.parse(lab.exec(node, ['nft', '-j', 'list', 'counter', 'ip', 'witness', 'from_attacker']).stdout).nftables.find(
      (item: any) => item.counter,
    ).counter.packets;
}

/** The forward rule with this comment in the NAT's table: its handle and packet count. */
function natRule(lab: LabVpc, comment: string): { handle: number; packets: number } {
  const listing = JSON.parse(lab.exec('nat', ['nft', '-j', '-a', 'list', 'chain', 'ip', 'nat_instance', 'forward']).stdout)
    .nftables as any[];
  const rules = listing.filter((item) => item.rule?.comment === comment);
  if (rules.length !== 1) throw new Error(`expected one rule '${comment}' in the forward chain, found ${rules.length}`);
  return { handle: rules[0].rule.handle, packets: rules[0].rule.expr.find((expr: any) => expr.counter).counter.packets };
}

describe.each(['single', 'dual'] as const)('%s mode', (mode) => {
  test("a new connection from the internet to a private host's address through the public interface gets nothing", async () => {
    const scenario = `no unsolicited inbound (${mode})`;
    const lab = await createLabVpc({ mode });
    expectBootSuccess(scenario, lab.runBootScript());
    const target = lab.privateHosts[1];
    lab.routeInternetToNatPublicInterface(target.ip);
    const attackerSeen = watchForAttacker(lab, 'h2');
    const probes: SourceIpProbe[] = [
      { scenario, from: 'internet', protocol: 'tcp', host: target.ip, port: LAB_ADDRESSES.hostHttpPort, source: attacker },
      { scenario, from: 'internet', protocol: 'udp', host: target.ip, port: LAB_ADDRESSES.hostUdpPort, source: attacker },
    ];
    for (const probe of probes) expectNoAnswer(lab, probe);
    expect({ scenario, packetsAtPrivateHost: attackerSeen() }).toEqual({ scenario, packetsAtPrivateHost: 0 });
    expect(natRule(lab, DROP_RULE).packets).toBeGreaterThan(0);

    // Control: without the rule the same packets reach the private host (in single mode the
    // connection even completes; in dual mode the answer leaves by ens5 unmasqueraded and EC2's
    // source/destination check drops it).
    lab.exec('nat', ['nft', 'delete', 'rule', 'ip', 'nat_instance', 'forward', 'handle', String(natRule(lab, DROP_RULE).handle)]);
    for (const probe of probes) {
      const control = { ...probe, scenario: `${scenario}, control without the rule` };
      if (mode === 'single') expectSourceIp(lab, control, attacker);
      else expectNoAnswer(lab, control);
    }
    expect({ scenario: `${scenario}, control`, reachedPrivateHost: attackerSeen() > 0 }).toEqual({
      scenario: `${scenario}, control`,
      reachedPrivateHost: true,
    });
  });
});
