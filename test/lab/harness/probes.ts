import { join } from 'path';
import { CommandResult } from './shell';
import { LabNode, LabVpc } from './lab-vpc';

/** Asks a what-is-my-IP server, from a lab node, which source address it sees. */
export interface SourceIpProbe {
  /** Named in failure messages, e.g. 'scenario 3: host in another private subnet'. */
  readonly scenario: string;
  readonly from: LabNode;
  readonly protocol: 'tcp' | 'udp';
  readonly host: string;
  readonly port: number;
  /** Bind the client to this source address. */
  readonly source?: string;
}

export interface ProbeOutcome {
  readonly result: CommandResult;
  /** The address the server saw, or undefined when there was no answer. */
  readonly observed?: string;
}

const WHOAMI = join(__dirname, 'whoami.py');

export function probeCommand(probe: SourceIpProbe): string[] {
  if (probe.protocol === 'tcp') {
    const bind = probe.source ? ['--interface', probe.source] : [];
    return ['curl', '-sS', '--connect-timeout', '3', '--max-time', '5', ...bind, `http://${probe.host}:${probe.port}/`];
  }
  const bind = probe.source ? ['--source', probe.source] : [];
  return ['python3', WHOAMI, 'ask', 'udp', probe.host, String(probe.port), '--timeout', '3', ...bind];
}

export function observeSourceIp(lab: LabVpc, probe: SourceIpProbe): ProbeOutcome {
  const result = lab.exec(probe.from, probeCommand(probe), { check: false, timeoutMs: 10_000 });
  const answer = result.stdout.trim();
  return { result, observed: result.code === 0 && /^\d+\.\d+\.\d+\.\d+$/.test(answer) ? answer : undefined };
}

function describe(probe: SourceIpProbe, outcome: ProbeOutcome): string {
  const seen =
    outcome.observed ?? `no answer (exit ${outcome.result.code}: ${outcome.result.stderr.trim() || outcome.result.stdout.trim()})`;
  return `[${probe.scenario}] from ${probe.from}: ${outcome.result.command}\n  observed: ${seen}`;
}

/** Fails unless the server answered and saw `expected` as the source. */
export function expectSourceIp(lab: LabVpc, probe: SourceIpProbe, expected: string): void {
  const outcome = observeSourceIp(lab, probe);
  if (outcome.observed !== expected) {
    throw new Error(`${describe(probe, outcome)}\n  expected: ${expected}\n--- NAT log ---\n${lab.natLog()}`);
  }
}

/** Fails when the server answered at all. */
export function expectNoAnswer(lab: LabVpc, probe: SourceIpProbe): void {
  const outcome = observeSourceIp(lab, probe);
  if (outcome.observed !== undefined) {
    throw new Error(`${describe(probe, outcome)}\n  expected: no connection`);
  }
}

/** Fails unless the boot script succeeded and ended with its summary line. */
export function expectBootSuccess(scenario: string, result: CommandResult): void {
  const last = result.stdout.trim().split('\n').pop() ?? '';
  if (result.code !== 0 || !/^nat-instance: ready in \d+s: /.test(last)) {
    throw new Error(
      `[${scenario}] boot script failed: ${result.command}\n  exit: ${result.code}\n  stdout:\n${result.stdout}\n  stderr:\n${result.stderr}`,
    );
  }
}
