/**
 * Cross-zone failover and self-healing in the lab: two NAT namespaces (zones a and b) booted from
 * a synthesized NatGroup's launch-template user data, with the health agent running, moto as EC2
 * and SSM (reached by the real AWS CLI), and a VPC router and internet gateway that follow the API.
 *
 * Timings are printed for the reader, never asserted: the benchmark (`npm run bench`, bench/failover-bench.ts)
 * measures them. The waits below are hang guards only. Agent intervals are shortened (LAB_HEALTH_CHECK).
 */
import { spawnSync } from 'child_process';
import { createGroupLab, GroupLab, LabNat, requireRoot, sleep, teardownGroupLabs } from './harness';

jest.setTimeout(300_000);

let lab: GroupLab;
let a: LabNat;
let b: LabNat;
let agentsStartedAt = 0;
const eip = (member: 'a' | 'b') => lab.ids[member].elasticIp;

beforeAll(async () => {
  requireRoot();
  lab = await createGroupLab();
  a = await lab.launch('a');
  b = await lab.launch('b');
  const boots = await Promise.all([lab.boot(a), lab.boot(b)]);
  for (const boot of boots) {
    if (boot.code !== 0) throw new Error(`a NAT did not boot: ${boot.stderr}\n${boot.stdout}`);
  }
  // Egress first (the boot scripts claimed the tables), so the agents' first probe finds it.
  await lab.waitForEgress('a', eip('a'));
  await lab.waitForEgress('b', eip('b'));
  agentsStartedAt = Date.now();
  lab.startAgent(a);
  lab.startAgent(b);
}, 300_000);

afterAll(teardownGroupLabs);

/** Waits until an agent's log holds a line matching `pattern` (hang guard `guardMs`). */
async function waitForLog(nat: LabNat, pattern: RegExp, guardMs = 60_000): Promise<string> {
  const start = Date.now();
  while (Date.now() - start < guardMs) {
    const line = lab
      .agentLog(nat)
      .split('\n')
      .find((l) => pattern.test(l));
    if (line) return line;
    await sleep(250);
  }
  throw new Error(`no agent log line matching ${pattern} within ${guardMs / 1000}s\n${lab.describe()}`);
}

/** Waits until the agent has run `rounds` more rounds (the heartbeat puts it makes, as the proxy saw them). */
async function waitForRounds(nat: LabNat, rounds: number, guardMs = 60_000): Promise<void> {
  const puts = () => lab.apiCalls().filter((call) => call.action === 'PutParameter' && call.client === eip(nat.member)).length;
  const target = puts() + rounds;
  const start = Date.now();
  while (puts() < target) {
    if (Date.now() - start > guardMs)
      throw new Error(`agent ${nat.member} did not run ${rounds} rounds within ${guardMs / 1000}s\n${lab.describe()}`);
    await sleep(250);
  }
}

describe('a group of two NATs, one per zone, with the health agent', () => {
  it('both healthy: each zone egresses through its own NAT, and over several rounds nobody writes a route', async () => {
    expect(lab.egress('a')).toBe(eip('a'));
    expect(lab.egress('b')).toBe(eip('b'));
    const since = Date.now() / 1000;
    await waitForRounds(a, 6);
    await waitForRounds(b, 6);
    expect(lab.routeWrites(since)).toEqual([]);
    expect(lab.agentState(a)).toMatchObject({
      self: 'healthy',
      route_tables_owned: '1',
      route_tables: lab.ids.a.routeTableId,
      peers: 'b:alive',
    });
    expect(lab.agentState(b)).toMatchObject({
      self: 'healthy',
      route_tables_owned: '1',
      route_tables: lab.ids.b.routeTableId,
      peers: 'a:alive',
    });
    // Each agent publishes its metrics to the emulated CloudWatch at its first round, then once a
    // minute (while a heartbeat goes out every round).
    const minutes = Math.floor((Date.now() - agentsStartedAt) / 60_000);
    for (const member of ['a', 'b'] as const) {
      const calls = lab.apiCalls().filter((call) => call.client === eip(member));
      const published = calls.filter((call) => call.action === 'PutMetricData');
      expect(published.length).toBeGreaterThanOrEqual(1);
      expect(published.length).toBeLessThanOrEqual(1 + minutes);
      expect(published.map((call) => [call.service, call.status])).toEqual(published.map(() => ['monitoring', 200]));
      expect(calls.filter((call) => call.action === 'PutParameter').length).toBeGreaterThanOrEqual(6);
      const metrics = lab.metrics(member);
      expect(Object.keys(metrics).sort()).toEqual(['ConntrackUsePercent', 'EgressProbe', 'OwnedRouteTables']);
      expect(metrics.EgressProbe).toEqual({ min: 1, max: 1, count: published.length });
      expect(metrics.OwnedRouteTables).toEqual({ min: 1, max: 1, count: published.length });
      expect(metrics.ConntrackUsePercent.count).toBe(published.length);
      expect(metrics.ConntrackUsePercent.max).toBeLessThan(100);
    }
  });

  it.each([
    ['its ruleset flushed', ['nft', 'delete', 'table', 'ip', 'nat_instance'], /masquerade rule .* is not loaded/],
    ['its forwarding off', ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=0'], /IPv4 forwarding is off/],
  ])('A with %s: zone a egresses through B; A repaired: the table returns to A, written once, by A', async (_what, breakA, reason) => {
    const ruleset = lab.exec(a.namespace, ['nft', 'list', 'table', 'ip', 'nat_instance']).stdout;
    const failedAt = Date.now();
    expect(lab.exec(a.namespace, breakA).code).toBe(0);
    const failover = await lab.waitForEgress('a', eip('b'));
    console.log(`failover (${_what}): egress of zone a through B after ${failover.toFixed(1)}s`);
    expect(await waitForLog(a, new RegExp(`decision: self unhealthy \\(.*${reason.source}`))).toBeTruthy();
    expect(await waitForLog(b, new RegExp(`decision: take ${lab.ids.a.routeTableId} of a`))).toBeTruthy();
    expect(lab.egress('b')).toBe(eip('b'));
    const takeovers = lab.routeWrites(failedAt / 1000);
    expect(takeovers.map((call) => [call.table, call.client, call.status])).toEqual([[lab.ids.a.routeTableId, eip('b'), 200]]);

    const repairedAt = Date.now();
    lab.exec(a.namespace, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    if (!lab.exec(a.namespace, ['nft', 'list', 'table', 'ip', 'nat_instance']).stdout.includes('masquerade')) {
      expect(run(a, ['nft', '-f', '-'], ruleset)).toBe(0);
    }
    const failback = await lab.waitForEgress('a', eip('a'));
    console.log(`failback (${_what}): egress of zone a through A again ${failback.toFixed(1)}s after the repair`);
    expect(await waitForLog(a, new RegExp(`decision: home table back to a \\(was ${b.eni}\\): ${lab.ids.a.routeTableId}`))).toBeTruthy();
    await waitForRounds(b, 4);
    const failbacks = lab.routeWrites(repairedAt / 1000);
    expect(failbacks.map((call) => [call.table, call.client, call.status])).toEqual([[lab.ids.a.routeTableId, eip('a'), 200]]);
    expect(lab.egress('a')).toBe(eip('a'));
  });

  it('the API throttles, then fails, for longer than a peer takes to die: no takeover, and the group carries on', async () => {
    const since = Date.now() / 1000;
    lab.setFault('throttle');
    await sleep(6_000);
    lab.setFault('fail');
    await sleep(6_000); // 12 s in all: twice peerDeadSeconds
    const during = lab.apiCalls().filter((call) => call.time >= since);
    lab.setFault(null);
    for (const fault of ['throttle', 'fail']) expect(during.filter((call) => call.fault === fault).length).toBeGreaterThan(2);
    expect(await waitForLog(a, /API failing, no decision until it answers/)).toBeTruthy();
    await waitForRounds(a, 5);
    await waitForRounds(b, 5);
    expect(lab.routeWrites(since).map((call) => [call.table, call.client, call.fault])).toEqual([]);
    expect(lab.egress('a')).toBe(eip('a'));
    expect(lab.egress('b')).toBe(eip('b'));
    expect(lab.agentState(a)).toMatchObject({ api: 'ok', peers: 'b:alive' });
  });

  it('A terminated: zone a egresses through B; the replacement launched from the template takes A’s Elastic IP and table back, with no Terraform', async () => {
    const terminatedAt = Date.now();
    lab.terminate(a);
    const failover = await lab.waitForEgress('a', eip('b'));
    console.log(`failover (instance terminated): egress of zone a through B after ${failover.toFixed(1)}s`);
    expect(
      await waitForLog(b, /decision: peer a dead \((instance i-[0-9a-f]+ is (terminated|shutting-down)|heartbeat stopped)/),
    ).toBeTruthy();
    expect(lab.routeWrites(terminatedAt / 1000).map((call) => [call.table, call.client])).toEqual([[lab.ids.a.routeTableId, eip('b')]]);

    // What the Auto Scaling group does next: a new instance from the launch template, a new address.
    const launchedAt = Date.now();
    const replacement = await lab.launch('a', '10.8.0.11');
    expect(replacement.instanceId).not.toBe(a.instanceId);
    const boot = await lab.boot(replacement);
    expect({ code: boot.code, stderr: boot.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(boot.stdout).toContain(`Elastic IP ${lab.ids.a.allocationId} associated with ${replacement.eni}`);
    lab.startAgent(replacement);
    const toEgress = await lab.waitForEgress('a', eip('a'));
    console.log(
      `replacement: launch to egress through the same Elastic IP ${((Date.now() - launchedAt) / 1000).toFixed(1)}s (${toEgress.toFixed(1)}s after its boot script ended)`,
    );
    await waitForRounds(b, 5);
    // The replacement claimed its table (after taking the Elastic IP: its calls come from it); B saw
    // the replacement alive and left the table alone.
    expect(lab.routeWrites(launchedAt / 1000).map((call) => [call.table, call.client])).toEqual([[lab.ids.a.routeTableId, eip('a')]]);
    expect(lab.egress('a')).toBe(eip('a'));
    expect(lab.agentState(b)).toMatchObject({ peers: 'a:alive', route_tables: lab.ids.b.routeTableId });
    a = replacement;
  });
});

function run(nat: LabNat, argv: string[], input: string): number | null {
  return spawnSync('ip', ['netns', 'exec', nat.namespace, ...argv], { input, encoding: 'utf8' }).status;
}
