/**
 * `npm run build`: the npm library in dist/ — JavaScript and declarations compiled from index.ts
 * and modules/ (tsconfig.build.json), plus every file the constructs read at synth time (the boot
 * script, the connectivity check: the shell under modules/), copied beside the compiled code so
 * that `join(__dirname, …)` finds them from dist/ exactly as it does from the sources.
 */
import { spawnSync } from 'child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'fs';
import { dirname, join, relative } from 'path';

const ROOT = join(__dirname, '..', '..');
const SOURCES = join(ROOT, 'modules');
const OUT = join(ROOT, 'dist');

/** Files the constructs read at run time: anything in modules/ that is neither code nor documentation. */
export function isRuntimeAsset(file: string): boolean {
  return !file.endsWith('.ts') && !file.endsWith('.md');
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

function main(): void {
  rmSync(OUT, { recursive: true, force: true });
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], {
    // Diagnostics to stderr: `npm pack --json` runs this as prepack and its stdout must stay JSON.
    stdio: ['ignore', process.stderr, process.stderr],
  });
  if (tsc.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${tsc.status})`);
  const assets = filesUnder(SOURCES).filter(isRuntimeAsset);
  for (const file of assets) {
    const target = join(OUT, relative(ROOT, file));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(file, target);
  }
  console.error(`dist/: compiled index.ts and modules/, copied ${assets.map((file) => relative(ROOT, file)).join(', ')}`);
}

if (require.main === module) main();
