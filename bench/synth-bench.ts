import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { appCommand, listSynthesizedStacks, REPO_ROOT, synthEnvironment } from '../scripts/validate/synth-app';
import { measureCommand, ProcessMeasurement } from './measure-process';
import { median, round } from './stats';

/**
 * Benchmark 1: synthesizing every stack as `cdktf synth` runs the app (the app command from
 * cdktf.json with the CLI's environment: an up-to-date incremental build, then the compiled
 * main.js), against a process that only loads the root of `@cdktf/provider-aws`, one that loads
 * the deep imports our stacks use, and the same app run from the TypeScript sources by ts-node
 * (what cdktf.json ran before the compiled build), interleaved in the same run; plus the whole
 * `npx cdktf synth` CLI.
 */

export interface SynthBenchResult {
  readonly runs: number;
  readonly stacks: string[];
  readonly appSynth: { wallSeconds: number; peakRssMiB: number; samples: ProcessMeasurement[] };
  readonly rootImport: { wallSeconds: number; peakRssMiB: number; samples: ProcessMeasurement[] };
  readonly deepImport: { wallSeconds: number; peakRssMiB: number; samples: ProcessMeasurement[] };
  readonly cliSynth: { wallSeconds: number; peakRssMiB: number; samples: ProcessMeasurement[] };
  /** The app command once on a fresh clone's state (no build/app yet): the full build, then the synth. */
  readonly firstAppSynth: ProcessMeasurement;
  /** The app from the sources through ts-node (transpile only), the same stacks. */
  readonly tsNodeApp: { wallSeconds: number; peakRssMiB: number; samples: ProcessMeasurement[] };
  /** App synth / root import, medians of the same run. */
  readonly ratioWall: number;
  readonly ratioPeakRss: number;
  /** App synth (compiled, as cdktf.json runs it) / ts-node app, medians of the same run. */
  readonly ratioCompiledVsTsNode: number;
  readonly commands: Record<string, string>;
}

/** The baseline loads the provider package's root in a child process: the cost the project avoids by deep imports. */
const PROVIDER_PACKAGE = '@cdktf/provider-aws';
const ROOT_IMPORT = `node -e "require(process.argv[1])" ${PROVIDER_PACKAGE}`;
const DEEP_IMPORT = `node -e "require('cdktf'); require('@cdktf/provider-aws/lib/vpc'); require('@cdktf/provider-aws/lib/instance')"`;
const CLI_SYNTH = 'npx cdktf synth --output';
const TS_NODE_APP = 'node -r ts-node/register/transpile-only main.ts';

function summarize(samples: ProcessMeasurement[]) {
  return {
    wallSeconds: round(median(samples.map((s) => s.wallSeconds))),
    peakRssMiB: round(median(samples.map((s) => s.peakRssMiB)), 0),
    samples,
  };
}

export function runSynthBench(runs: number, log: (line: string) => void): SynthBenchResult {
  const scratch = mkdtempSync(join(tmpdir(), 'bench-synth-'));
  try {
    const app = appCommand();
    const appSamples: ProcessMeasurement[] = [];
    const rootSamples: ProcessMeasurement[] = [];
    const deepSamples: ProcessMeasurement[] = [];
    const cliSamples: ProcessMeasurement[] = [];
    const tsNodeSamples: ProcessMeasurement[] = [];
    let stacks: string[] = [];
    // The first synth after a fresh clone compiles everything; every later one finds the build up to date.
    rmSync(join(REPO_ROOT, 'build', 'app'), { recursive: true, force: true });
    const firstAppSynth = measureCommand(app, { cwd: REPO_ROOT, env: synthEnvironment(join(scratch, 'first')) });
    log(`  first synth (full build): ${firstAppSynth.wallSeconds}s`);
    for (let i = 0; i < runs; i++) {
      const outdir = join(scratch, `app-${i}`);
      // Interleaved so that both sides of each ratio see the same machine state.
      appSamples.push(measureCommand(app, { cwd: REPO_ROOT, env: synthEnvironment(outdir) }));
      stacks = [...listSynthesizedStacks(outdir).keys()];
      rootSamples.push(measureCommand(ROOT_IMPORT, { cwd: REPO_ROOT, env: synthEnvironment(outdir) }));
      deepSamples.push(measureCommand(DEEP_IMPORT, { cwd: REPO_ROOT, env: synthEnvironment(outdir) }));
      tsNodeSamples.push(measureCommand(TS_NODE_APP, { cwd: REPO_ROOT, env: synthEnvironment(join(scratch, `ts-node-${i}`)) }));
      const cliOut = join(scratch, `cli-${i}`);
      cliSamples.push(measureCommand(`${CLI_SYNTH} ${cliOut}`, { cwd: REPO_ROOT, env: { ...process.env, CHECKPOINT_DISABLE: '1' } }));
      log(
        `  synth run ${i + 1}/${runs}: app ${appSamples[i].wallSeconds}s ${Math.round(appSamples[i].peakRssMiB)} MiB, root import ${rootSamples[i].wallSeconds}s ${Math.round(rootSamples[i].peakRssMiB)} MiB, ts-node app ${tsNodeSamples[i].wallSeconds}s, cli ${cliSamples[i].wallSeconds}s`,
      );
    }
    const appSynth = summarize(appSamples);
    const rootImport = summarize(rootSamples);
    const tsNodeApp = summarize(tsNodeSamples);
    return {
      runs,
      stacks,
      appSynth,
      rootImport,
      deepImport: summarize(deepSamples),
      cliSynth: summarize(cliSamples),
      firstAppSynth,
      tsNodeApp,
      ratioWall: round(appSynth.wallSeconds / rootImport.wallSeconds),
      ratioPeakRss: round(appSynth.peakRssMiB / rootImport.peakRssMiB),
      ratioCompiledVsTsNode: round(appSynth.wallSeconds / tsNodeApp.wallSeconds),
      commands: {
        appSynth: app,
        rootImport: ROOT_IMPORT,
        deepImport: DEEP_IMPORT,
        cliSynth: `CHECKPOINT_DISABLE=1 ${CLI_SYNTH} <dir>`,
        tsNodeApp: TS_NODE_APP,
      },
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
