import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

export interface ProcessMeasurement {
  readonly wallSeconds: number;
  /** Peak resident set of the largest process in the tree (GNU time's %M: ru_maxrss of the waited children). */
  readonly peakRssMiB: number;
}

/**
 * Runs a shell command under GNU time and returns its wall time and peak RSS.
 * Throws when the command fails, with its stderr, so a broken measurement never becomes a figure.
 */
export function measureCommand(command: string, options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): ProcessMeasurement {
  const dir = mkdtempSync(join(tmpdir(), 'bench-time-'));
  const report = join(dir, 'time.txt');
  try {
    const result = spawnSync('/usr/bin/time', ['-o', report, '-f', '%e %M', 'sh', '-c', command], {
      cwd: options.cwd,
      env: options.env,
      encoding: 'utf8',
      timeout: options.timeoutMs ?? 300_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (result.status !== 0) throw new Error(`'${command}' failed (exit ${result.status}): ${(result.stderr ?? '').trim().slice(-2000)}`);
    const [elapsed, maxRssKiB] = readFileSync(report, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    return { wallSeconds: elapsed, peakRssMiB: maxRssKiB / 1024 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
