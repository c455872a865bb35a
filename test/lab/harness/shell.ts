import { ChildProcess, spawn, spawnSync } from 'child_process';

/** The outcome of one command: exit code (null when killed), output, and the command line for messages. */
export interface CommandResult {
  readonly command: string;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Kill the command after this long. @default 20000 */
  readonly timeoutMs?: number;
  /** Throw when the exit code is not 0. @default true */
  readonly check?: boolean;
  readonly input?: string;
}

/** Quotes an argv for messages (copy-paste friendly). */
export function formatCommand(argv: readonly string[]): string {
  return argv.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Runs a command synchronously, bounded by a timeout. */
export function run(argv: readonly string[], options: RunOptions = {}): CommandResult {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const result = spawnSync(argv[0], argv.slice(1), {
    encoding: 'utf8',
    timeout: timeoutMs,
    input: options.input,
    maxBuffer: 64 * 1024 * 1024,
  });
  const timedOut = (result.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  const outcome: CommandResult = {
    command: formatCommand(argv),
    code: result.status,
    stdout: result.stdout ?? '',
    stderr:
      (result.stderr ?? '') + (timedOut ? `\n(killed: no exit within ${timeoutMs} ms)` : result.error ? `\n${result.error.message}` : ''),
  };
  if ((options.check ?? true) && outcome.code !== 0) {
    const how = timedOut ? `timed out after ${timeoutMs} ms` : `exit ${outcome.code}`;
    throw new Error(`command failed (${how}): ${outcome.command}\n${outcome.stderr.trim()}`);
  }
  return outcome;
}

/** Runs a command asynchronously, bounded by a timeout; never rejects (check `code`). */
export function runAsync(argv: readonly string[], options: { timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timeoutMs = options.timeoutMs ?? 20_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        command: formatCommand(argv),
        code,
        stdout,
        stderr: timedOut ? `${stderr}\n(killed: no exit within ${timeoutMs} ms)` : stderr,
      });
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `done` every `intervalMs` until it holds or `timeoutMs` pass. Giving up, it throws an
 * error naming what it waited for and what `observe()` reports then.
 */
export async function waitUntil(
  what: string,
  done: () => boolean,
  observe: () => string,
  timeoutMs: number,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() >= deadline) throw new Error(`waited ${timeoutMs} ms for ${what}; gave up seeing: ${observe()}`);
    await sleep(intervalMs);
  }
}

/**
 * Resolves with the first match of `ready` in the stdout of a server just started (it prints a
 * line once it listens). Rejects after `timeoutMs`, or when the process exits first, naming what
 * it waited for and everything the process printed.
 */
export function waitForReadyLine(child: ChildProcess, what: string, ready: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const seen = () => `stdout ${JSON.stringify(stdout)}, stderr ${JSON.stringify(stderr)}`;
    const giveUp = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`waited for ${what} to print a line matching ${ready} on its stdout; ${why}; it printed: ${seen()}`));
    };
    const timer = setTimeout(() => giveUp(`none within ${timeoutMs} ms, and it is still running`), timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = ready.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[0]);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code, signal) => giveUp(`it exited first (${signal ?? `exit ${code}`})`));
  });
}

/** Lab tests create namespaces and nftables rules: they need root, and say so instead of skipping. */
export function requireRoot(): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new Error('The network-namespace lab needs root (ip netns, nft, mount). Run it as root: sudo npx jest test/lab');
  }
}
