import { ChildProcess, spawn } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { formatCommand, run, waitUntil } from './shell';

const BRIDGE_READY_TIMEOUT_MS = 10_000;

/** A host service made reachable inside a lab namespace. */
export interface LoopbackBridge {
  /** `http://127.0.0.1:<port>`: the service's address inside the namespace. */
  readonly endpoint: string;
  /** Stops both relays (by the PIDs started here). Safe to call twice. */
  stop(): void;
}

/**
 * Makes a TCP service on the host's loopback (`127.0.0.1:port`, e.g. the moto server) answer on
 * the same address inside a lab namespace, whose loopback is its own: two `socat` relays joined by
 * a UNIX socket, since network namespaces share the file system. Resolves once a connection made
 * inside the namespace gets through; on failure, stops what it started.
 */
export async function bridgeLoopbackPort(namespace: string, port: number): Promise<LoopbackBridge> {
  const directory = mkdtempSync(join(tmpdir(), 'lab-bridge-'));
  const socket = join(directory, 'relay.sock');
  const relays: ChildProcess[] = [];
  const start = (argv: string[]) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: 'ignore' });
    relays.push(child);
    return argv;
  };
  const stop = () => {
    for (const relay of relays.splice(0)) {
      if (relay.exitCode === null && relay.pid !== undefined) {
        try {
          process.kill(relay.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    rmSync(directory, { recursive: true, force: true });
  };
  try {
    const host = start(['socat', `UNIX-LISTEN:${socket},fork,mode=600`, `TCP:127.0.0.1:${port}`]);
    run(['ip', '-n', namespace, 'link', 'set', 'lo', 'up']);
    const inside = start([
      'ip',
      'netns',
      'exec',
      namespace,
      'socat',
      `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`,
      `UNIX-CONNECT:${socket}`,
    ]);
    const probe = ['ip', 'netns', 'exec', namespace, 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`];
    await waitUntil(
      `a connection to 127.0.0.1:${port} inside ${namespace} through the relays (${formatCommand(host)}; ${formatCommand(inside)})`,
      () => run(probe, { check: false, timeoutMs: 5_000 }).code === 0 && relays.every((relay) => relay.exitCode === null),
      () => relays.map((relay) => `relay ${relay.pid}: ${relay.exitCode === null ? 'running' : `exited ${relay.exitCode}`}`).join(', '),
      BRIDGE_READY_TIMEOUT_MS,
    );
  } catch (error) {
    stop();
    throw error;
  }
  return { endpoint: `http://127.0.0.1:${port}`, stop };
}
