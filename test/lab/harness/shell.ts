import { spawn, spawnSync } from 'child_process';

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
  const result = spawnSync(argv[0], argv.slice(1), {
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 20_000,
    input: options.input,
    maxBuffer: 64 * 1024 * 1024,
  });
  const outcome: CommandResult = {
    command: formatCommand(argv),
    code: result.status,
    stdout: result.stdout ?? '',
    stderr: (result.stderr ?? '') + (result.error ? `\n${result.error.message}` : ''),
  };
  if ((options.check ?? true) && outcome.code !== 0) {
    throw new Error(`command failed (exit ${outcome.code}): ${outcome.command}\n${outcome.stderr.trim()}`);
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
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ command: formatCommand(argv), code, stdout, stderr });
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Lab tests create namespaces and nftables rules: they need root, and say so instead of skipping. */
export function requireRoot(): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new Error('The network-namespace lab needs root (ip netns, nft, mount). Run it as root: sudo npx jest test/lab');
  }
}
