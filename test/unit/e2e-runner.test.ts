/**
 * The e2e runner's logic against doubles: the SSM API through `aws-sdk-client-mock` (a double of
 * AWS, which cannot exist here), a stack-deployer double standing in for cdktf + Terraform, and a
 * clock double whose sleep only advances its own time (so bounded waits end without waiting).
 */
import { mockClient } from 'aws-sdk-client-mock';
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  CommandInvocationStatus,
  InvocationDoesNotExist,
  ListCommandInvocationsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { Clock } from '../../test/e2e/clock';
import { ConnectivityE2eOptions, DeployedStack, runConnectivityE2e, StackDeployer } from '../../test/e2e/connectivity-e2e';
import {
  agentSupportsEnvVarInterpolation,
  compareVersions,
  MINIMUM_SSM_AGENT_VERSION,
  versionComponents,
} from '../../test/e2e/ssm-agent-version';

const NAT_IP = '203.0.113.10';
const WRONG_IP = '192.0.2.1';
const INSTANCES = ['i-0aaa', 'i-0bbb', 'i-0ccc'];
/** The oldest agent that supports ENV_VAR interpolation: the healthy fleet runs exactly it. */
const AGENT = '3.3.2746.0';
const OPTIONS: ConnectivityE2eOptions = {
  documentName: 'TestInternetConnectivity',
  onlineTimeoutMs: 60_000,
  commandTimeoutMs: 30_000,
  pollIntervalMs: 1_000,
  wrongIp: WRONG_IP,
};

class FakeClock implements Clock {
  time = 0;
  now = () => this.time;
  sleep = async (ms: number) => {
    this.time += ms;
  };
}

/** Test double for cdktf + Terraform: records calls, can be told to fail. */
class DeployerDouble implements StackDeployer {
  calls: string[] = [];
  constructor(
    private readonly stack: DeployedStack = { publicIp: NAT_IP, testInstanceIds: INSTANCES },
    private readonly failures: { deploy?: Error; destroy?: Error } = {},
  ) {}
  async deploy() {
    this.calls.push('deploy');
    if (this.failures.deploy) throw this.failures.deploy;
    return this.stack;
  }
  async destroy() {
    this.calls.push('destroy');
    if (this.failures.destroy) throw this.failures.destroy;
  }
}

const ssm = mockClient(SSMClient);

/** Command IDs by the expected IP they were sent with. */
const COMMAND_FOR = { [NAT_IP]: 'cmd-right', [WRONG_IP]: 'cmd-wrong' } as Record<string, string>;

function invocation(status: string, observedIp?: string, failure?: string) {
  return {
    Status: status as CommandInvocationStatus,
    StandardOutputContent: observedIp ? `observed IP: ${observedIp}\n` : '',
    StandardErrorContent: failure ? `FAIL: ${failure}\n` : '',
  };
}

/** A healthy AWS: every instance Online, every invocation listed, results after a short delay. */
function healthyAws() {
  ssm.reset();
  ssm.on(DescribeInstanceInformationCommand).resolves({
    InstanceInformationList: INSTANCES.map((id) => ({ InstanceId: id, PingStatus: 'Online', AgentVersion: AGENT })),
  });
  ssm.on(SendCommandCommand).callsFake((input) => ({ Command: { CommandId: COMMAND_FOR[input.Parameters.expectedIp[0]] } }));
  ssm.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: INSTANCES.map((id) => ({ InstanceId: id })) });
  const seen = new Map<string, number>();
  ssm.on(GetCommandInvocationCommand).callsFake((input) => {
    const key = `${input.CommandId}/${input.InstanceId}`;
    const attempt = (seen.get(key) ?? 0) + 1;
    seen.set(key, attempt);
    // Eventual consistency first, then running, then the final status.
    if (attempt === 1) throw new InvocationDoesNotExist({ message: 'not yet', $metadata: {} });
    if (attempt === 2) return invocation('InProgress');
    return input.CommandId === 'cmd-right'
      ? invocation('Success', NAT_IP)
      : invocation('Failed', NAT_IP, `egress leaves with ${NAT_IP}, expected ${WRONG_IP}`);
  });
}

async function run(deployer = new DeployerDouble()) {
  const clock = new FakeClock();
  const lines: string[] = [];
  const outcome = runConnectivityE2e(
    { ssm: new SSMClient({ region: 'eu-central-1' }), deployer, clock, log: (l) => lines.push(l) },
    OPTIONS,
  );
  return { outcome, deployer, clock, lines };
}

beforeEach(healthyAws);

describe('runConnectivityE2e on a healthy deployment', () => {
  test('passes: every instance Success with the NAT IP, every instance Failed with the wrong IP, then destroys', async () => {
    const { outcome, deployer } = await run();
    const report = await outcome;
    expect(report.positive.map((r) => [r.instanceId, r.status, r.observedIp])).toEqual(INSTANCES.map((id) => [id, 'Success', NAT_IP]));
    expect(report.negative.map((r) => r.status)).toEqual(['Failed', 'Failed', 'Failed']);
    expect(deployer.calls).toEqual(['deploy', 'destroy']);
  });

  test('sends the document by name to exactly the test instances, expectedIp as a parameter', async () => {
    await (
      await run()
    ).outcome;
    const sends = ssm.commandCalls(SendCommandCommand).map((call) => call.args[0].input);
    expect(sends).toEqual([
      expect.objectContaining({ DocumentName: 'TestInternetConnectivity', InstanceIds: INSTANCES, Parameters: { expectedIp: [NAT_IP] } }),
      expect.objectContaining({ DocumentName: 'TestInternetConnectivity', InstanceIds: INSTANCES, Parameters: { expectedIp: [WRONG_IP] } }),
    ]);
  });

  test('retries InvocationDoesNotExist instead of failing on it', async () => {
    await (
      await run()
    ).outcome;
    // Three polls per invocation (not visible, running, final) for 3 instances and 2 commands.
    expect(ssm.commandCalls(GetCommandInvocationCommand)).toHaveLength(18);
  });

  test('waits until every instance is Online before sending', async () => {
    let describes = 0;
    ssm.on(DescribeInstanceInformationCommand).callsFake(() => {
      describes += 1;
      const online = INSTANCES.slice(0, Math.min(describes, INSTANCES.length));
      return { InstanceInformationList: online.map((id) => ({ InstanceId: id, PingStatus: 'Online', AgentVersion: AGENT })) };
    });
    await (
      await run()
    ).outcome;
    expect(describes).toBe(3);
  });
});

describe('runConnectivityE2e fails, and still destroys, when', () => {
  async function expectFailure(pattern: RegExp, deployer = new DeployerDouble()) {
    const { outcome } = await run(deployer);
    await expect(outcome).rejects.toThrow(pattern);
    expect(deployer.calls[deployer.calls.length - 1]).toBe('destroy');
    expect(deployer.calls.filter((c) => c === 'destroy')).toHaveLength(1);
  }

  test('the command reaches zero instances (never a vacuous pass)', async () => {
    ssm.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [] });
    await expectFailure(/has 0 invocations for 3 instances/);
  });

  test('the command reaches fewer instances than deployed', async () => {
    ssm.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [{ InstanceId: INSTANCES[0] }] });
    await expectFailure(/has 1 invocations for 3 instances/);
  });

  test('an invocation never finishes (timeout)', async () => {
    ssm.on(GetCommandInvocationCommand).resolves(invocation('InProgress'));
    await expectFailure(/still 'InProgress' after 30000 ms/);
  });

  test('an invocation never becomes visible (InvocationDoesNotExist until the timeout)', async () => {
    ssm.on(GetCommandInvocationCommand).rejects(new InvocationDoesNotExist({ message: 'gone', $metadata: {} }));
    await expectFailure(/still 'not yet visible'/);
  });

  test('one instance fails the check', async () => {
    ssm
      .on(GetCommandInvocationCommand)
      .callsFake((input) =>
        input.InstanceId === 'i-0bbb' ? invocation('Failed', undefined, 'no answer within 20s') : invocation('Success', NAT_IP),
      );
    await expectFailure(/egress check failed on 1 of 3 instances: i-0bbb Failed observed nothing: FAIL: no answer/);
  });

  test('an instance reports Success but leaves with another IP', async () => {
    ssm
      .on(GetCommandInvocationCommand)
      .callsFake((input) => (input.InstanceId === 'i-0ccc' ? invocation('Success', '198.51.100.99') : invocation('Success', NAT_IP)));
    await expectFailure(/i-0ccc Success observed 198\.51\.100\.99/);
  });

  test('the negative check passes vacuously (a wrong expected IP does not fail the document)', async () => {
    ssm.on(GetCommandInvocationCommand).resolves(invocation('Success', NAT_IP));
    await expectFailure(/negative check: the document did not fail with expectedIp 192\.0\.2\.1/);
  });

  test('an instance never comes Online in SSM (named in the error)', async () => {
    ssm.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [
        { InstanceId: 'i-0aaa', PingStatus: 'Online', AgentVersion: AGENT },
        { InstanceId: 'i-0bbb', PingStatus: 'ConnectionLost', AgentVersion: AGENT },
      ],
    });
    await expectFailure(/2 of 3 instances not Online after 60000 ms: i-0bbb, i-0ccc/);
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  test('the deploy fails', async () => {
    await expectFailure(/apply exploded/, new DeployerDouble(undefined, { deploy: new Error('apply exploded') }));
  });

  test('the stack has no test instances', async () => {
    await expectFailure(/nothing would be checked/, new DeployerDouble({ publicIp: NAT_IP, testInstanceIds: [] }));
  });

  test('the public IP output is not an address', async () => {
    await expectFailure(/not an IPv4 address/, new DeployerDouble({ publicIp: '', testInstanceIds: INSTANCES }));
  });

  test('an SSM call fails outright (not a retryable InvocationDoesNotExist)', async () => {
    ssm.on(SendCommandCommand).rejects(new Error('AccessDeniedException: ssm:SendCommand'));
    await expectFailure(/AccessDeniedException/);
  });
});

describe('the SSM Agent version (ENV_VAR interpolation needs 3.3.2746.0 or later)', () => {
  /** Every instance Online, with these agent versions (undefined: none reported). */
  function agents(versions: Record<string, string | undefined>) {
    ssm.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: Object.entries(versions).map(([id, version]) => ({
        InstanceId: id,
        PingStatus: 'Online',
        AgentVersion: version,
      })),
    });
  }

  test('compareVersions compares numerically, component by component (3.3.10000.0 > 3.3.2746.0), missing components as 0', () => {
    const compare = (a: string, b: string) => Math.sign(compareVersions(versionComponents(a)!, versionComponents(b)!));
    expect(compare('3.3.10000.0', '3.3.2746.0')).toBe(1);
    expect(compare('3.3.999.0', '3.3.2746.0')).toBe(-1);
    expect(compare('3.10.0.0', '3.3.2746.0')).toBe(1);
    expect(compare('3.3.2746.0', '3.3.2746.0')).toBe(0);
    expect(compare('3.3.2746', '3.3.2746.0')).toBe(0);
    expect(compare('3.3.2746.1', '3.3.2746')).toBe(1);
    expect(versionComponents('3.3.x')).toBeUndefined();
    expect(versionComponents('')).toBeUndefined();
  });

  test.each(['3.3.2746.0', '3.3.2746.1', '3.3.10000.0', '3.10.0.0', '4.0.0.0'])(
    'agent %s (equal or newer) proceeds to the check, which passes',
    async (version) => {
      agents(Object.fromEntries(INSTANCES.map((id) => [id, version])));
      const { outcome, lines } = await run();
      await expect(outcome).resolves.toBeDefined();
      expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(2);
      expect(lines).toContain(`all test instances are Online in SSM, agents ${INSTANCES.map((id) => `${id} ${version}`).join(', ')}`);
    },
  );

  test.each(['3.3.2745.0', '3.3.999.0', '3.2.9999.0', '2.3.1319.0', 'unknown'])(
    'agent %s (older, or unreadable) fails at once with one line naming instance and version, before any command, and destroys',
    async (version) => {
      agents({ 'i-0aaa': AGENT, 'i-0bbb': version, 'i-0ccc': AGENT });
      const { outcome, deployer, clock } = await run();
      const message = `SSM Agent older than ${MINIMUM_SSM_AGENT_VERSION}, which the connectivity document's ENV_VAR parameters need, on i-0bbb (${version}): use a newer AMI or update the agent`;
      await expect(outcome).rejects.toThrow(new Error(message)); // the whole message: one line, nothing else
      expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
      expect(ssm.commandCalls(DescribeInstanceInformationCommand)).toHaveLength(1);
      expect(clock.time).toBe(0);
      expect(deployer.calls).toEqual(['deploy', 'destroy']);
    },
  );

  test('several old agents, and one that reports no version, are all named in the one line', async () => {
    agents({ 'i-0aaa': '3.2.582.0', 'i-0bbb': AGENT, 'i-0ccc': undefined });
    const { outcome } = await run();
    await expect(outcome).rejects.toThrow(
      /^SSM Agent older than 3\.3\.2746\.0, [^\n]* on i-0aaa \(3\.2\.582\.0\), i-0ccc \(no version reported\): use a newer AMI or update the agent$/,
    );
  });

  test('an old agent fails the run early, without waiting for the other instances to come Online', async () => {
    ssm.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [{ InstanceId: 'i-0aaa', PingStatus: 'Online', AgentVersion: '3.2.582.0' }],
    });
    const { outcome, clock } = await run();
    await expect(outcome).rejects.toThrow(/on i-0aaa \(3\.2\.582\.0\)/);
    expect(clock.time).toBeLessThan(OPTIONS.onlineTimeoutMs);
    expect(ssm.commandCalls(DescribeInstanceInformationCommand)).toHaveLength(1);
  });

  test('agentSupportsEnvVarInterpolation refuses an absent version', () => {
    expect(agentSupportsEnvVarInterpolation(undefined)).toBe(false);
    expect(agentSupportsEnvVarInterpolation(MINIMUM_SSM_AGENT_VERSION)).toBe(true);
  });
});

describe('a destroy failure fails the run', () => {
  test('after a passing check', async () => {
    const deployer = new DeployerDouble(undefined, { destroy: new Error('DependencyViolation') });
    const { outcome } = await run(deployer);
    await expect(outcome).rejects.toThrow(/the check passed but the destroy failed: DependencyViolation/);
  });

  test('after a failing check, reporting both', async () => {
    ssm.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [] });
    const deployer = new DeployerDouble(undefined, { destroy: new Error('DependencyViolation') });
    const { outcome } = await run(deployer);
    await expect(outcome).rejects.toThrow(/0 invocations for 3 instances; and the destroy failed too: DependencyViolation/);
  });
});
