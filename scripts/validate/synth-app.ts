import { spawn } from 'child_process';
import { existsSync, readdirSync, readFileSync } from 'fs';
import { join, resolve } from 'path';

/** Repository root (this file lives in scripts/validate/). */
export const REPO_ROOT = resolve(__dirname, '..', '..');

/** The app command from cdktf.json (`node scripts/build/build.js app && node build/app/main.js`). */
export function appCommand(repoRoot: string = REPO_ROOT): string {
  const config = JSON.parse(readFileSync(join(repoRoot, 'cdktf.json'), 'utf8'));
  if (typeof config.app !== 'string') throw new Error("cdktf.json has no 'app' command");
  return config.app;
}

/**
 * The environment `cdktf synth` gives the app (cdktf-cli 0.21 `synth-stack.js`): the output
 * directory, continue-on-error annotations, the context JSON, no HCL output, 4 GiB old space.
 */
export function synthEnvironment(outdir: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(base).filter(([key]) => !key.startsWith('TF_VAR_')));
  if (!env.NODE_OPTIONS) env.NODE_OPTIONS = '--max-old-space-size=4096';
  return {
    ...env,
    CHECKPOINT_DISABLE: '1',
    CDKTF_OUTDIR: outdir,
    CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS: 'true',
    CDKTF_CONTEXT_JSON: JSON.stringify({ cdktfRelativeModules: [] }),
    SYNTH_HCL_OUTPUT: 'false',
  };
}

/** Runs the app exactly as `cdktf synth` does (through a shell, in the repo root) into `outdir`. */
export function synthesizeApp(outdir: string, repoRoot: string = REPO_ROOT): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(appCommand(repoRoot), {
      shell: true,
      cwd: repoRoot,
      env: synthEnvironment(outdir),
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolvePromise() : reject(new Error(`synth failed (exit ${code}): ${stderr.trim()}`))));
  });
}

/** Stack name -> path of its `cdk.tf.json` in a cdktf output directory. */
export function listSynthesizedStacks(outdir: string): Map<string, string> {
  const stacksDir = join(outdir, 'stacks');
  const stacks = new Map<string, string>();
  if (!existsSync(stacksDir)) return stacks;
  for (const name of readdirSync(stacksDir).sort()) {
    const file = join(stacksDir, name, 'cdk.tf.json');
    if (existsSync(file)) stacks.set(name, file);
  }
  return stacks;
}
