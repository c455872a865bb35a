import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  InvocationDoesNotExist,
  ListCommandInvocationsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { Clock, pollUntil } from './clock';
import { agentSupportsEnvVarInterpolation, MINIMUM_SSM_AGENT_VERSION } from './ssm-agent-version';

export interface SsmWaits {
  /** How long every instance may take to register and report PingStatus Online. */
  readonly onlineTimeoutMs: number;
  /** How long a command may take until every invocation has a final status. */
  readonly commandTimeoutMs: number;
  readonly pollIntervalMs: number;
}

export interface InvocationResult {
  readonly instanceId: string;
  readonly status: string;
  /** The address the document printed (`observed IP: …`), if any. */
  readonly observedIp?: string;
  readonly output: string;
}

/** Statuses after which an invocation no longer changes. */
const RUNNING_STATUSES = new Set(['Pending', 'InProgress', 'Delayed', 'Cancelling']);

/**
 * Waits until SSM reports PingStatus Online for every instance; names the missing ones on timeout.
 * Fails at once, in one line, when an Online instance's SSM Agent is too old for the document's
 * ENV_VAR interpolation (see ssm-agent-version.ts), rather than letting the document fail later
 * for a reason its output would not tell. Returns each instance's agent version.
 */
export async function waitUntilOnline(
  ssm: SSMClient,
  instanceIds: string[],
  clock: Clock,
  waits: SsmWaits,
): Promise<Record<string, string>> {
  let offline = [...instanceIds];
  return pollUntil(
    clock,
    waits.onlineTimeoutMs,
    waits.pollIntervalMs,
    async () => {
      const agents = new Map<string, string | undefined>();
      let nextToken: string | undefined;
      do {
        const page = await ssm.send(
          new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: instanceIds }], NextToken: nextToken }),
        );
        for (const info of page.InstanceInformationList ?? []) {
          if (info.InstanceId && info.PingStatus === 'Online') agents.set(info.InstanceId, info.AgentVersion);
        }
        nextToken = page.NextToken;
      } while (nextToken);
      const tooOld = [...agents].filter(([, version]) => !agentSupportsEnvVarInterpolation(version));
      if (tooOld.length > 0) {
        throw new Error(
          `SSM Agent older than ${MINIMUM_SSM_AGENT_VERSION}, which the connectivity document's ENV_VAR parameters need, on ` +
            `${tooOld.map(([id, version]) => `${id} (${version ?? 'no version reported'})`).join(', ')}: use a newer AMI or update the agent`,
        );
      }
      offline = instanceIds.filter((id) => !agents.has(id));
      return offline.length === 0 ? Object.fromEntries(instanceIds.map((id) => [id, agents.get(id)!])) : undefined;
    },
    () =>
      new Error(
        `SSM: ${offline.length} of ${instanceIds.length} instances not Online after ${waits.onlineTimeoutMs} ms: ${offline.join(', ')}`,
      ),
  );
}

/**
 * Sends the connectivity document to the instances and returns one result per instance, once all
 * are final. Fails when the command reaches fewer (or other) instances than asked: listing
 * invocations right after SendCommand can return none, which must never count as a pass.
 */
export async function runConnectivityDocument(
  ssm: SSMClient,
  documentName: string,
  instanceIds: string[],
  expectedIp: string,
  clock: Clock,
  waits: SsmWaits,
): Promise<InvocationResult[]> {
  if (instanceIds.length === 0) throw new Error('SSM: no instances to run the connectivity document on');
  const sent = await ssm.send(
    new SendCommandCommand({
      DocumentName: documentName,
      InstanceIds: instanceIds,
      Parameters: { expectedIp: [expectedIp] },
      Comment: `connectivity check, expecting ${expectedIp}`,
      TimeoutSeconds: Math.max(30, Math.ceil(waits.commandTimeoutMs / 1000)),
    }),
  );
  const commandId = sent.Command?.CommandId;
  if (!commandId) throw new Error('SSM: SendCommand returned no command ID');

  let listed: string[] = [];
  await pollUntil(
    clock,
    waits.commandTimeoutMs,
    waits.pollIntervalMs,
    async () => {
      const page = await ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId }));
      listed = (page.CommandInvocations ?? []).map((invocation) => invocation.InstanceId ?? '?');
      return listed.length === instanceIds.length ? true : undefined;
    },
    () => new Error(`SSM: command ${commandId} has ${listed.length} invocations for ${instanceIds.length} instances`),
  );
  const strangers = listed.filter((id) => !instanceIds.includes(id));
  if (strangers.length > 0) throw new Error(`SSM: command ${commandId} ran on unexpected instances: ${strangers.join(', ')}`);

  const results: InvocationResult[] = [];
  for (const instanceId of instanceIds) {
    results.push(await finalInvocation(ssm, commandId, instanceId, clock, waits));
  }
  return results;
}

async function finalInvocation(
  ssm: SSMClient,
  commandId: string,
  instanceId: string,
  clock: Clock,
  waits: SsmWaits,
): Promise<InvocationResult> {
  let lastStatus = 'not yet visible';
  return pollUntil(
    clock,
    waits.commandTimeoutMs,
    waits.pollIntervalMs,
    async () => {
      try {
        const invocation = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
        lastStatus = invocation.Status ?? 'unknown';
        if (RUNNING_STATUSES.has(lastStatus)) return undefined;
        const output = `${invocation.StandardOutputContent ?? ''}${invocation.StandardErrorContent ?? ''}`;
        return { instanceId, status: lastStatus, observedIp: /observed IP: (\S+)/.exec(output)?.[1], output };
      } catch (error) {
        // Eventual consistency: an invocation can be unknown for a moment after SendCommand.
        if (error instanceof InvocationDoesNotExist || (error as Error).name === 'InvocationDoesNotExist') return undefined;
        throw error;
      }
    },
    () => new Error(`SSM: invocation of ${commandId} on ${instanceId} still '${lastStatus}' after ${waits.commandTimeoutMs} ms`),
  );
}
