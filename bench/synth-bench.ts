import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { appCommand, listSynthesizedStacks, REPO_ROOT, synthEnvironment } from '../scripts/validate/synth-app';
import { measureCommand, ProcessMeasurement } from './measure-process';
import { median, round } from './stats';

/**
 * Benchmark 1: synthesizing every stack as `cdktf synth` runs the app (the app command from
 * cdktf.json with the CLI's environment), against a process that only loads the root of
 * `@cdktf/provider-aws` and one that loads the deep imports our stacks use, interleaved in the
 * same run; plus the whole `npx cdktf synth` CLI.
 */

export interface SynthBenchResult {
  readonly runs: number;
  readonly stacks: string[];
  readonly appSynth: { wallSeconds: number; peakRssMiB: number; samples: ProcessMeasurement[] };
  readonly rootImport: { wallSeconds: number; peakRssMiB: number; samples: ProcessMeasurement[] };
  readonly deepImport: { wallSeconds: number; peakRssMiB: number; samples: ProcessMeasurement[] };
  readonly cliSynth: { wallSeconds: number; peakRssMiB: number; samples: ProcessMeasurement[] };
  /** App synth / root import, medians of the same run. */
  readonly ratioWall: number;
  readonly ratioPeakRss: number;
  readonly commands: Record<string, string>;
}

/** The baseline loads the provider package's root in a child process: the cost the project avoids by deep imports. */
const PROVIDER_PACKAGE = '@cdktf/provider-aws';
const ROOT_IMPORT = `node -e "require(process.argv[1])" ${PROVIDER_PACKAGE}`;
const DEEP_IMPORT = `node -e "require('cdktf'); require('@cdktf/provider-aws/lib/vpc'); require('@cdktf/provider-aws/lib/instance')"`;
const CLI_SYNTH = 'npx cdktf synth --output';

function summarize(samples: ProcessMeasurement[]) {
  return { wallSeconds: round(median(samples.map((s) => s.wallSeconds))), peakRssMiB: round(median(samples.map((s) => s.peakRssMiB)), 0), samples };
}

export function runSynthBench(runs: number, log: (line: string) => void): SynthBenchResult {
  const scratch = mkdtempSync(join(tmpdir(), 'bench-synth-'));
  try {
    const app = appCommand();
    const appSamples: ProcessMeasurement[] = [];
    const rootSamples: ProcessMeasurement[] = [];
    const deepSamples: ProcessMeasurement[] = [];
    const cliSamples: ProcessMeasurement[] = [];
    let stacks: string[] = [];
    for (let i = 0; i < runs; i++) {
      const outdir = join(scratch, `app-${i}`);
      // Interleaved so that both sides of each ratio see the same machine state.
      appSamples.push(measureCommand(app, { cwd: REPO_ROOT, env: synthEnvironment(outdir) }));
      stacks = [...listSynthesizedStacks(outdir).keys()];
      rootSamples.push(measureCommand(ROOT_IMPORT, { cwd: REPO_ROOT, env: synthEnvironment(outdir) }));
      deepSamples.push(measureCommand(DEEP_IMPORT, { cwd: REPO_ROOT, env: synthEnvironment(outdir) }));
      const cliOut = join(scratch, `cli-${i}`);
      cliSamples.push(measureCommand(`${CLI_SYNTH} ${cliOut}`, { cwd: REPO_ROOT, env: { ...process.env, CHECKPOINT_DISABLE: '1' } }));
      log(`  synth run ${i + 1}/${runs}: app ${appSamples[i].wallSeconds}s ${Math.round(appSamples[i].peakRssMiB)} MiB, root import ${rootSamples[i].wallSeconds}s ${Math.round(rootSamples[i].peakRssMiB)} MiB, cli ${cliSamples[i].wallSeconds}s`);
    }
    const appSynth = summarize(appSamples);
    const rootImport = summarize(rootSamples);
    return {
      runs,
      stacks,
      appSynth,
      rootImport,
      deepImport: summarize(deepSamples),
      cliSynth: summarize(cliSamples),
      ratioWall: round(appSynth.wallSeconds / rootImport.wallSeconds),
      ratioPeakRss: round(appSynth.peakRssMiB / rootImport.peakRssMiB),
      commands: { appSynth: app, rootImport: ROOT_IMPORT, deepImport: DEEP_IMPORT, cliSynth: `CHECKPOINT_DISABLE=1 ${CLI_SYNTH} <dir>` },
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
