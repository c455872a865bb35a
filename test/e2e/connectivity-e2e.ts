import { SSMClient } from '@aws-sdk/client-ssm';
import { Clock, realClock } from './clock';
import { InvocationResult, runConnectivityDocument, SsmWaits, waitUntilOnline } from './ssm-connectivity-check';

/** What the nat-example stack outputs and the check needs. */
export interface DeployedStack {
  /** The NAT's public IP: the address egress must leave with. */
  readonly publicIp: string;
  readonly testInstanceIds: string[];
}

/** Deploys and destroys the stack under test (the real one drives cdktf + Terraform with S3 state). */
export interface StackDeployer {
  deploy(): Promise<DeployedStack>;
  destroy(): Promise<void>;
}

export interface ConnectivityE2eOptions extends SsmWaits {
  readonly documentName: string;
  /**
   * An address egress can never leave with: the negative check expects the document to fail.
   * @default '192.0.2.1' (TEST-NET-1, never routed on the internet)
   */
  readonly wrongIp?: string;
}

export interface ConnectivityE2eDeps {
  readonly ssm: SSMClient;
  readonly deployer: StackDeployer;
  /** @default realClock */
  readonly clock?: Clock;
  /** @default console.log */
  readonly log?: (line: string) => void;
}

export interface ConnectivityE2eReport {
  readonly deployed: DeployedStack;
  readonly positive: InvocationResult[];
  readonly negative: InvocationResult[];
}

/**
 * The end-to-end check, without the holes of the design it follows: deploy → every test instance Online in SSM
 * with an agent recent enough for the document → the document with expectedIp = the NAT's public IP must succeed on every instance with that
 * observed IP → with a wrong expectedIp it must fail on every instance → destroy, always. A
 * destroy failure fails the run, also when the check already failed (both are reported).
 */
export async function runConnectivityE2e(deps: ConnectivityE2eDeps, options: ConnectivityE2eOptions): Promise<ConnectivityE2eReport> {
  const clock = deps.clock ?? realClock;
  const log = deps.log ?? ((line: string) => console.log(line));
  let report: ConnectivityE2eReport | undefined;
  let checkError: unknown;
  try {
    report = await deployAndCheck(deps.ssm, deps.deployer, clock, log, options);
  } catch (error) {
    checkError = error;
  }
  log('destroying the stack');
  let destroyError: unknown;
  try {
    await deps.deployer.destroy();
  } catch (error) {
    destroyError = error;
  }
  if (checkError !== undefined && destroyError !== undefined) {
    throw new Error(`${messageOf(checkError)}; and the destroy failed too: ${messageOf(destroyError)}`);
  }
  if (checkError !== undefined) throw checkError;
  if (destroyError !== undefined) throw new Error(`the check passed but the destroy failed: ${messageOf(destroyError)}`);
  return report!;
}

async function deployAndCheck(
  ssm: SSMClient,
  deployer: StackDeployer,
  clock: Clock,
  log: (line: string) => void,
  options: ConnectivityE2eOptions,
): Promise<ConnectivityE2eReport> {
  log('deploying the stack');
  const deployed = await deployer.deploy();
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(deployed.publicIp))
    throw new Error(`the stack's public IP output is not an IPv4 address: '${deployed.publicIp}'`);
  if (deployed.testInstanceIds.length === 0) throw new Error('the stack has no test instances: nothing would be checked');
  log(`NAT public IP ${deployed.publicIp}; test instances ${deployed.testInstanceIds.join(', ')}`);

  const agents = await waitUntilOnline(ssm, deployed.testInstanceIds, clock, options);
  log(
    `all test instances are Online in SSM, agents ${Object.entries(agents)
      .map(([id, version]) => `${id} ${version}`)
      .join(', ')}`,
  );

  const positive = await runConnectivityDocument(ssm, options.documentName, deployed.testInstanceIds, deployed.publicIp, clock, options);
  const wrong = positive.filter((result) => result.status !== 'Success' || result.observedIp !== deployed.publicIp);
  if (wrong.length > 0) {
    throw new Error(
      `egress check failed on ${wrong.length} of ${positive.length} instances: ` +
        wrong.map((r) => `${r.instanceId} ${r.status} observed ${r.observedIp ?? 'nothing'}: ${r.output.trim()}`).join(' | '),
    );
  }
  log(`every instance leaves with ${deployed.publicIp}`);

  const wrongIp = options.wrongIp ?? '192.0.2.1';
  const negative = await runConnectivityDocument(ssm, options.documentName, deployed.testInstanceIds, wrongIp, clock, options);
  const vacuous = negative.filter((result) => result.status !== 'Failed');
  if (vacuous.length > 0) {
    throw new Error(
      `negative check: the document did not fail with expectedIp ${wrongIp} on ${vacuous.map((r) => `${r.instanceId} (${r.status})`).join(', ')}`,
    );
  }
  log(`with expectedIp ${wrongIp} the document fails on every instance, as it must`);
  return { deployed, positive, negative };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
