import { spawnSync } from 'child_process';
import { createGroupLab, GroupLab, LabNat, requireRoot, sleep } from '../test/lab/harness';
import { GROUP_LAB } from '../test/lab/harness/group-lab';
import { HEALTH_CHECK_DEFAULTS } from '../modules/nat/health-agent';
import { median, round } from './stats';

/**
 * Benchmark 5, in the NAT-group lab of test/lab/harness/group-lab.ts (two NAT namespaces booted
 * from a synthesized NatGroup's launch-template user data, the health agent with the DEFAULT
 * settings, moto as EC2 and SSM through the real AWS CLI, a VPC router and internet gateway that
 * follow the API). Egress is probed from zone a's private host every PROBE_MS; each time is from
 * the fault (or the repair, or the launch) to the first probe that leaves through the expected
 * Elastic IP.
 */

const PROBE_MS = 200;

export interface FailoverBenchResult {
  readonly runs: number;
  readonly agentIntervalSeconds: number;
  readonly probeIntervalMs: number;
  /** Ruleset flushed on zone a's NAT → zone a egresses through zone b's NAT. */
  readonly failoverSeconds: number;
  readonly failoverSamples: number[];
  /** Zone a's NAT repaired → zone a egresses through it again. */
  readonly failbackSeconds: number;
  readonly failbackSamples: number[];
  /** Zone a's instance terminated → zone a egresses through zone b's NAT. */
  readonly terminatedFailoverSeconds: number;
  readonly terminatedFailoverSamples: number[];
  /** The replacement launched from the template → egress through zone a's Elastic IP again (boot script, agent, no Terraform). */
  readonly replacementSeconds: number;
  readonly replacementSamples: number[];
  readonly routeWritesWhileHealthy: number;
  readonly healthyWindowSeconds: number;
}

async function bootAndStart(lab: GroupLab, nat: LabNat): Promise<void> {
  const result = await lab.boot(nat);
  if (result.code !== 0) throw new Error(`NAT ${nat.member} did not boot: ${result.stderr}`);
  lab.startAgent(nat);
}

export async function runFailoverBench(runs: number, log: (line: string) => void): Promise<FailoverBenchResult> {
  requireRoot();
  const healthCheck = { ...HEALTH_CHECK_DEFAULTS, probeUrl: `http://${GROUP_LAB.internetServerIp}/` };
  const lab = await createGroupLab(healthCheck);
  try {
    let a = await lab.launch('a');
    const b = await lab.launch('b');
    await Promise.all([bootAndStart(lab, a), bootAndStart(lab, b)]);
    const eipA = lab.ids.a.elasticIp;
    const eipB = lab.ids.b.elasticIp;
    await lab.waitForEgress('a', eipA, 120_000);
    await lab.waitForEgress('b', eipB, 120_000);

    const healthyWindowSeconds = 60;
    const quietSince = Date.now() / 1000;
    await sleep(healthyWindowSeconds * 1000);
    const routeWritesWhileHealthy = lab.routeWrites(quietSince).length;
    log(`  both healthy for ${healthyWindowSeconds}s: ${routeWritesWhileHealthy} route writes`);

    const failover: number[] = [];
    const failback: number[] = [];
    for (let run = 1; run <= runs; run++) {
      const ruleset = lab.exec(a.namespace, ['nft', 'list', 'table', 'ip', 'nat_instance']).stdout;
      lab.exec(a.namespace, ['nft', 'delete', 'table', 'ip', 'nat_instance']);
      failover.push(await lab.waitForEgress('a', eipB, 120_000, PROBE_MS));
      await sleep(10_000); // the takeover settles; B keeps the table while A stays broken
      const restore = spawnSync('ip', ['netns', 'exec', a.namespace, 'nft', '-f', '-'], { input: ruleset });
      if (restore.status !== 0) throw new Error(`could not restore A's ruleset: ${restore.stderr}`);
      failback.push(await lab.waitForEgress('a', eipA, 120_000, PROBE_MS));
      log(`  run ${run}: failover ${round(failover[run - 1], 1)} s, failback ${round(failback[run - 1], 1)} s`);
      await sleep(10_000);
    }

    const terminated: number[] = [];
    const replacement: number[] = [];
    for (let run = 1; run <= runs; run++) {
      lab.terminate(a);
      terminated.push(await lab.waitForEgress('a', eipB, 120_000, PROBE_MS));
      const launchedAt = Date.now();
      a = await lab.launch('a', `10.8.0.${10 + run}`);
      await bootAndStart(lab, a);
      await lab.waitForEgress('a', eipA, 180_000, PROBE_MS);
      replacement.push((Date.now() - launchedAt) / 1000);
      log(
        `  run ${run}: terminated → through B ${round(terminated[run - 1], 1)} s; replacement launch → egress through A's EIP ${round(replacement[run - 1], 1)} s`,
      );
      await sleep(10_000);
    }
    return {
      runs,
      agentIntervalSeconds: healthCheck.intervalSeconds,
      probeIntervalMs: PROBE_MS,
      failoverSeconds: round(median(failover), 1),
      failoverSamples: failover.map((s) => round(s, 2)),
      failbackSeconds: round(median(failback), 1),
      failbackSamples: failback.map((s) => round(s, 2)),
      terminatedFailoverSeconds: round(median(terminated), 1),
      terminatedFailoverSamples: terminated.map((s) => round(s, 2)),
      replacementSeconds: round(median(replacement), 1),
      replacementSamples: replacement.map((s) => round(s, 2)),
      routeWritesWhileHealthy,
      healthyWindowSeconds,
    };
  } finally {
    lab.teardown();
  }
}
