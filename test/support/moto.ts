/**
 * Test support: the emulated AWS API (`moto_server`, moto 5.x) on a free loopback port, for the
 * real-Terraform suite and for lab tests whose instance calls EC2 through the real AWS CLI.
 *
 * One server per test file: `startMoto()` in `beforeAll`, `moto.stop()` in `afterAll`.
 * AWS-managed policies (AmazonSSMManagedInstanceCore…) are loaded, as on AWS.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';

/** The region every emulated call uses. */
export const MOTO_REGION = 'eu-central-1';
/** moto's fixed account ID. */
export const MOTO_ACCOUNT_ID = '123456789012';

export interface MotoOptions {
  /** More environment for the server, e.g. `INITIAL_NO_AUTH_ACTION_COUNT` to enforce IAM. */
  readonly env?: Record<string, string>;
  /** How long to wait for the server to answer. @default 30_000 */
  readonly readyTimeoutMs?: number;
  /**
   * Serve inside this network namespace (a lab's), on `address` there, e.g. the lab internet's
   * address, so that what runs in the lab reaches the emulator as it would reach AWS.
   * @default the host's loopback
   */
  readonly namespace?: { readonly name: string; readonly address: string };
}

export interface MotoServer {
  /** `http://127.0.0.1:<port>`: every service's endpoint. */
  readonly endpoint: string;
  readonly port: number;
  /** Environment for the AWS CLI and SDKs: test credentials, region, endpoint. */
  readonly clientEnv: Record<string, string>;
  /** The last `maxChars` characters of the server's log (one line per request), for failure messages. */
  log(maxChars?: number): string;
  /** Forgets every emulated resource. */
  reset(): Promise<void>;
  /** Stops the server. Safe to call twice. */
  stop(): Promise<void>;
}

/** A TCP port free on loopback right now. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const MOTO_SERVER_SCRIPT = join(__dirname, 'moto_server_for_tests.py');

/** Starts `moto_server`; resolves once it answers HTTP. Throws with its output when it cannot start. */
export async function startMoto(options: MotoOptions = {}): Promise<MotoServer> {
  const port = await freeLoopbackPort();
  const address = options.namespace?.address ?? '127.0.0.1';
  const endpoint = `http://${address}:${port}`;
  const inNamespace = (argv: string[]) => (options.namespace ? ['ip', 'netns', 'exec', options.namespace.name, ...argv] : argv);
  // The server logs every request. Into a file, not a pipe: the tests run Terraform with
  // spawnSync, which blocks this process's event loop, so a pipe would not be drained, fill up
  // (64 KiB) and stall the server mid-request (a `terraform destroy` that never ends).
  const logDirectory = mkdtempSync(join(tmpdir(), 'moto-'));
  const logFile = join(logDirectory, 'moto_server.log');
  const logFd = openSync(logFile, 'a');
  // moto_server with one emulator difference removed (an interface's detached attachment): see the script.
  const [command, ...args] = inNamespace(['python3', MOTO_SERVER_SCRIPT, '-H', address, '-p', String(port)]);
  const child: ChildProcess = spawn(command, args, {
    env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: 'true', ...options.env },
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  const log = (maxChars = 4000): string => {
    try {
      return readFileSync(logFile, 'utf8').slice(-maxChars);
    } catch {
      return '';
    }
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 3000)))]);
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    if (!process.env.KEEP_MOTO_LOG) rmSync(logDirectory, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  let lastError = 'no attempt yet';
  for (;;) {
    if (spawnError) throw new Error(`moto_server could not start (is moto installed? pip install 'moto[server]'): ${spawnError.message}`);
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode} before answering on ${endpoint}: ${log()}`);
    try {
      if (options.namespace) {
        // The host cannot reach a namespace's address: ask from inside it.
        const [probe, ...probeArgs] = inNamespace(['curl', '-sS', '-f', '-o', '/dev/null', '--max-time', '2', `${endpoint}/moto-api/`]);
        const answer = spawnSync(probe, probeArgs, { encoding: 'utf8', timeout: 5000 });
        if (answer.status === 0) break;
        lastError = (answer.stderr ?? '').trim() || `curl exit ${answer.status}`;
      } else {
        // No keep-alive: an idle pooled connection would keep the test process alive after the tests.
        const response = await fetch(`${endpoint}/moto-api/`, { headers: { connection: 'close' } });
        if (response.ok) break;
        lastError = `HTTP ${response.status}`;
      }
    } catch (error) {
      lastError = (error as Error).message;
    }
    if (Date.now() > deadline) {
      const output = log();
      await stop();
      throw new Error(
        `moto_server did not answer on ${endpoint}/moto-api/ within ${options.readyTimeoutMs ?? 30_000} ms (last: ${lastError}): ${output}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  return {
    endpoint,
    port,
    clientEnv: {
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_SESSION_TOKEN: 'testing',
      AWS_DEFAULT_REGION: MOTO_REGION,
      AWS_REGION: MOTO_REGION,
      AWS_ENDPOINT_URL: endpoint,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_PAGER: '',
    },
    log,
    async reset() {
      if (options.namespace) throw new Error('reset() is for an emulator on the host');
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST', headers: { connection: 'close' } });
      if (!response.ok) throw new Error(`moto reset answered HTTP ${response.status}`);
    },
    stop,
  };
}
