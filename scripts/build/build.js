#!/usr/bin/env node
// Compiles the TypeScript and puts the shell the constructs read at synth time (the boot script,
// the connectivity check: every file under modules/ that is neither code nor documentation)
// beside the compiled code, so that `join(__dirname, …)` finds it there exactly as it does beside
// the sources. Plain JavaScript: the app build runs before every synth and must start fast.
//
//   node scripts/build/build.js library   npm run build (and prepack): clean dist/, the npm library
//                                          (index.ts and modules/, with declarations; tsconfig.build.json)
//   node scripts/build/build.js app       cdktf.json's app: build/app/ from main.ts, stacks/ and modules/
//                                          (tsconfig.app.json, incremental: an up-to-date build only checks)
'use strict';
const { spawnSync } = require('child_process');
const { copyFileSync, mkdirSync, readdirSync, rmSync } = require('fs');
const { dirname, join, relative } = require('path');

const ROOT = join(__dirname, '..', '..');
const TARGETS = {
  library: { config: 'tsconfig.build.json', outDir: 'dist', tscArgs: ['-p'], clean: true },
  app: { config: 'tsconfig.app.json', outDir: join('build', 'app'), tscArgs: ['-b'], clean: false },
};

/** Files the constructs read at run time: anything in modules/ that is neither code nor documentation. */
function isRuntimeAsset(file) {
  return !file.endsWith('.ts') && !file.endsWith('.md');
}

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

function build(name) {
  const target = TARGETS[name];
  if (!target) throw new Error(`build.js: unknown target '${name}' (one of ${Object.keys(TARGETS).join(', ')})`);
  const outDir = join(ROOT, target.outDir);
  if (target.clean) rmSync(outDir, { recursive: true, force: true });
  // Diagnostics to stderr: `npm pack --json` runs the library build as prepack, its stdout must stay JSON.
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), ...target.tscArgs, join(ROOT, target.config)], {
    stdio: ['ignore', process.stderr, process.stderr],
  });
  if (tsc.status !== 0) throw new Error(`tsc ${target.tscArgs.join(' ')} ${target.config} failed (exit ${tsc.status})`);
  for (const file of filesUnder(join(ROOT, 'modules')).filter(isRuntimeAsset)) {
    const copy = join(outDir, relative(ROOT, file));
    mkdirSync(dirname(copy), { recursive: true });
    copyFileSync(file, copy);
  }
}

try {
  build(process.argv[2]);
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
