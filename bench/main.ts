import { mkdirSync, writeFileSync } from 'fs';
import { cpus, loadavg, totalmem } from 'os';
import { join } from 'path';
import {
  BootTimeResult,
  ConnectionScaleResult,
  runBootTimeBench,
  runConnectionScaleBench,
  runThroughputBench,
  ThroughputResult,
} from './lab-bench';
import { runSynthBench, SynthBenchResult } from './synth-bench';
import { FailoverBenchResult, runFailoverBench } from './failover-bench';

/**
 * `npm run bench`: every figure is the median of repeated runs; every ratio compares two medians
 * taken in the same run. Prints a table and writes bench/results/latest.json.
 *
 * Environment: BENCH_ONLY=synth,throughput,scale,scale-pool,boot (default: all), BENCH_RUNS (synth, default 5),
 * BENCH_IPERF_RUNS (default 3), BENCH_IPERF_SECONDS (default 5), BENCH_BOOT_RUNS (default 5),
const BENCHES = ['synth', 'throughput', 'scale', 'scale-pool', 'boot', 'failover'] as const;
 */

function envNumber(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`${name} must be a positive number, got '${value}'`);
  return parsed;
}

const BENCHES = ['synth', 'throughput', 'scale', 'scale-pool', 'boot', 'failover'] as const;
type BenchName = (typeof BENCHES)[number];

function selectedBenches(): Set<BenchName> {
  const only = process.env.BENCH_ONLY;
  if (!only) return new Set(BENCHES);
  const names = only.split(',').map((name) => name.trim());
  for (const name of names)
    if (!BENCHES.includes(name as BenchName)) throw new Error(`BENCH_ONLY: unknown benchmark '${name}' (one of ${BENCHES.join(', ')})`);
  return new Set(names as BenchName[]);
}

interface Results {
  readonly date: string;
  readonly machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; kernel: string; loadAverageAtStart: number[] };
  synth?: SynthBenchResult;
  throughput?: ThroughputResult;
  connectionScale?: ConnectionScaleResult;
  connectionScalePool?: ConnectionScaleResult;
  bootTime?: BootTimeResult;
  failover?: FailoverBenchResult;
}

function table(results: Results): string {
  const rows: [string, string, string][] = [];
  const s = results.synth;
  if (s) {
    rows.push([
      `synth all stacks (${s.stacks.length}: app as cdktf runs it)`,
      `${s.appSynth.wallSeconds} s, ${s.appSynth.peakRssMiB} MiB peak`,
      `median of ${s.runs}`,
    ]);
    rows.push([
      'require(@cdktf/provider-aws) root only',
      `${s.rootImport.wallSeconds} s, ${s.rootImport.peakRssMiB} MiB peak`,
      `median of ${s.runs}`,
    ]);
    rows.push(['  ratio synth / root import', `${s.ratioWall}x time, ${s.ratioPeakRss}x memory`, 'same run']);
    rows.push([
      'first synth after a clone (full build + synth)',
      `${s.firstAppSynth.wallSeconds} s, ${Math.round(s.firstAppSynth.peakRssMiB)} MiB peak`,
      'one run',
    ]);
    rows.push([
      'same app from the sources by ts-node',
      `${s.tsNodeApp.wallSeconds} s, ${s.tsNodeApp.peakRssMiB} MiB peak`,
      `median of ${s.runs}`,
    ]);
    rows.push(['  ratio compiled app / ts-node app', `${s.ratioCompiledVsTsNode}x time`, 'same run']);
    rows.push([
      'require(cdktf + 2 deep imports)',
      `${s.deepImport.wallSeconds} s, ${s.deepImport.peakRssMiB} MiB peak`,
      `median of ${s.runs}`,
    ]);
    rows.push(['npx cdktf synth (whole CLI)', `${s.cliSynth.wallSeconds} s, ${s.cliSynth.peakRssMiB} MiB peak`, `median of ${s.runs}`]);
  }
  const t = results.throughput;
  if (t) {
    rows.push(['iperf3 TCP h1 -> internet through the NAT', `${t.natGbps} Gbit/s`, `median of ${t.runs} x ${t.secondsPerRun}s`]);
    rows.push(['iperf3 TCP, plain routing (no NAT)', `${t.plainRoutingGbps} Gbit/s`, `median of ${t.runs} x ${t.secondsPerRun}s`]);
    rows.push(['  ratio NAT / plain routing', `${t.ratio.toFixed(2)}`, 'same run']);
  }
  for (const c of [results.connectionScale, results.connectionScalePool]) {
    if (!c) continue;
    const addresses = `${c.publicAddresses} public address${c.publicAddresses === 1 ? '' : 'es'}`;
    rows.push([
      `concurrent TCP to one destination, ${addresses} (${c.requested} requested)`,
      `${c.established} established, ${c.failed} failed`,
      'one run',
    ]);
    rows.push([
      '  conntrack entries in the NAT (held open)',
      `${c.conntrackEntriesNat} (max ${c.conntrackMax})`,
      `server saw ${c.serverEstablished}`,
    ]);
    if (c.publicAddresses > 1) {
      const split = Object.entries(c.serverEstablishedByAddress)
        .map(([address, count]) => `${count} from ${address}`)
        .join(', ');
      rows.push(['  per public address, at the server', split, 'one run']);
    }
  }
  const b = results.bootTime;
  if (b) {
    rows.push(['boot script start -> NAT ready, single mode', `${b.singleSeconds} s`, `median of ${b.runs}`]);
    rows.push(['boot script start -> NAT ready, dual mode', `${b.dualSeconds} s`, `median of ${b.runs}`]);
  }
  const f = results.failover;
  if (f) {
    const every = `median of ${f.runs}, agent round ${f.agentIntervalSeconds} s, probe every ${f.probeIntervalMs} ms`;
    rows.push(['NAT group: ruleset flushed on A -> zone a egresses through B', `${f.failoverSeconds} s`, every]);
    rows.push(['NAT group: A repaired -> zone a egresses through A again', `${f.failbackSeconds} s`, every]);
    rows.push(['NAT group: A terminated -> zone a egresses through B', `${f.terminatedFailoverSeconds} s`, every]);
    rows.push([
      "self-healing: replacement launched -> egress through A's Elastic IP",
      `${f.replacementSeconds} s`,
      `median of ${f.runs}, no Terraform`,
    ]);
    rows.push([`NAT group: route writes while both healthy (${f.healthyWindowSeconds} s)`, `${f.routeWritesWhileHealthy}`, 'one window']);
  }
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i].length), ['benchmark', 'result', 'runs'][i].length));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
  return [line(['benchmark', 'result', 'runs']), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const benches = selectedBenches();
  const log = (line: string) => console.error(line);
  const { execSync } = await import('child_process');
  const results: Results = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      kernel: execSync('uname -r').toString().trim(),
      loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    },
  };
  if (benches.has('synth')) {
    log('== 1. synth');
    results.synth = runSynthBench(envNumber('BENCH_RUNS', 5), log);
  }
  if (benches.has('throughput')) {
    log('== 2. lab throughput');
    results.throughput = await runThroughputBench(envNumber('BENCH_IPERF_RUNS', 3), envNumber('BENCH_IPERF_SECONDS', 5), log);
  }
  if (benches.has('scale')) {
    log('== 3. lab connection scale');
    results.connectionScale = await runConnectionScaleBench(
      envNumber('BENCH_CONNECTIONS', 66_000),
      envNumber('BENCH_CONNECT_DEADLINE', 30),
      log,
    );
  }
  if (benches.has('scale-pool')) {
    log('== 3b. lab connection scale, two public addresses');
    results.connectionScalePool = await runConnectionScaleBench(
      envNumber('BENCH_POOL_CONNECTIONS', 132_000),
      envNumber('BENCH_POOL_CONNECT_DEADLINE', 180),
      log,
      2,
    );
  }
  if (benches.has('boot')) {
    log('== 4. boot script');
    results.bootTime = await runBootTimeBench(envNumber('BENCH_BOOT_RUNS', 5), log);
  }
  if (benches.has('failover')) {
    log('== 5. NAT group failover and self-healing replacement');
    results.failover = await runFailoverBench(envNumber('BENCH_FAILOVER_RUNS', 3), log);
  }
  const outDir = join(__dirname, 'results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'latest.json');
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(table(results));
  console.log(`written: ${file}`);
}

main().catch((error) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
