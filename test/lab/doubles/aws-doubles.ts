/**
 * TEST DOUBLES of the two AWS services the boot script talks to in self-claim mode, started
 * inside a lab namespace (the NAT's), where the script and the real AWS CLI reach them:
 *
 * - the IMDSv2 double (`imds_double.py`) on 169.254.169.254:80, an address added to the
 *   namespace's loopback, exactly where the script looks for instance metadata;
 * - the EC2 Query API double (`ec2_api_double.py`) on 127.0.0.1 (a free port), reached through
 *   `AWS_ENDPOINT_URL_EC2` — unless `ec2Endpoint` names a real EC2 API to use instead (the moto
 *   emulator bridged into the namespace), where its route semantics suffice.
 *
 * Both record every request (JSON lines) in a work directory the test reads back.
 */
import { ChildProcess, spawn } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { formatCommand, run, waitForReadyLine } from '../harness/shell';

export const IMDS_ADDRESS = '169.254.169.254';

/** A route table of the EC2 double, as it is before the boot script runs. */
export interface RouteTableDouble {
  /** The ENI its 0.0.0.0/0 route targets, or null when it has no default route (ReplaceRoute then fails). */
  readonly defaultRoute: string | null;
}

/**
 * How the EC2 double refuses a call: with this error code (and EC2's status for it: 403, 503,
 * 503, 500), or `HTTP503`, a 503 with an HTML page that the CLI reports by its status alone.
 */
export type Ec2Refusal = 'UnauthorizedOperation' | 'RequestLimitExceeded' | 'Unavailable' | 'InternalError' | 'HTTP503';

export interface AwsDoublesOptions {
  /** The namespace to serve in (the NAT's). */
  readonly namespace: string;
  readonly instanceId: string;
  readonly region: string;
  /** MAC address (lowercase) → ENI ID, for every interface of the instance. */
  readonly interfaces: Record<string, string>;
  /** The EC2 double's route tables. @default {} */
  readonly routeTables?: Record<string, RouteTableDouble>;
  /**
   * An EC2 API endpoint, reachable inside the namespace, for the script to use instead of the EC2
   * double (which is then not started: `routeTables` and `refusals` do not apply, `ec2Calls()` is empty).
   * @default the EC2 double
   */
  readonly ec2Endpoint?: string;
  /**
   * How the first EC2 calls are answered, in arrival order whatever their action: a refusal, or
   * null to answer that call normally. Later calls are answered normally.
   * @default [] (no refusals)
   */
  readonly refusals?: Array<Ec2Refusal | null>;
}

/** One request the IMDS double answered. */
export interface ImdsCall {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** Whether the request carried an X-aws-ec2-metadata-token header. */
  readonly token: boolean;
}

/** One EC2 API call the double answered. */
export interface Ec2Call {
  readonly action: string;
  readonly routeTableId: string | null;
  readonly destinationCidrBlock: string | null;
  readonly networkInterfaceId: string | null;
  readonly status: number;
  /** The error code answered, null on success. */
  readonly error: string | null;
  /** Whether the request was SigV4-signed (the CLI signs with the lab's dummy credentials). */
  readonly signed: boolean;
}

const DOUBLES_DIRECTORY = __dirname;
const READY_TIMEOUT_MS = 10_000;

export class AwsDoubles {
  private readonly processes: ChildProcess[] = [];
  private readonly workDirectory = mkdtempSync(join(tmpdir(), 'aws-doubles-'));
  private ec2Port = 0;

  private constructor(private readonly options: AwsDoublesOptions) {}

  /** Starts the doubles and waits until they listen; on failure, stops what was started. */
  static async start(options: AwsDoublesOptions): Promise<AwsDoubles> {
    const doubles = new AwsDoubles(options);
    try {
      await doubles.startAll();
    } catch (error) {
      doubles.stop();
      throw error;
    }
    return doubles;
  }

  /**
   * The environment the boot script needs to reach the doubles with the real AWS CLI: the EC2
   * endpoint override, dummy credentials (the double does not check signatures), no pager, no
   * shared config, and Debian's `aws` first on PATH. IMDS needs nothing: it sits at its real address.
   */
  scriptEnvironment(): Record<string, string> {
    return {
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      AWS_ENDPOINT_URL_EC2: this.options.ec2Endpoint ?? `http://127.0.0.1:${this.ec2Port}`,
      AWS_ACCESS_KEY_ID: 'AKIDLABDOUBLE0000000',
      AWS_SECRET_ACCESS_KEY: 'lab-double-secret-not-checked',
      AWS_PAGER: '',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true',
      HOME: this.workDirectory,
    };
  }

  imdsCalls(): ImdsCall[] {
    return this.readJsonLines('imds.record') as ImdsCall[];
  }

  ec2Calls(): Ec2Call[] {
    return this.readJsonLines('ec2.record') as Ec2Call[];
  }

  /** Route table → the ENI its 0.0.0.0/0 route targets now (null: no default route). */
  routeTargets(): Record<string, string | null> {
    if (this.options.ec2Endpoint)
      throw new Error('the EC2 double was not started (ec2Endpoint is set): read the route tables from that API');
    const state = JSON.parse(readFileSync(join(this.workDirectory, 'ec2.state'), 'utf8')) as Record<
      string,
      { defaultRoute: string | null }
    >;
    return Object.fromEntries(Object.entries(state).map(([table, { defaultRoute }]) => [table, defaultRoute]));
  }

  /** Stops both doubles (by the PIDs started here) and removes the work directory. Safe to call twice. */
  stop(): void {
    for (const child of this.processes.splice(0)) {
      if (child.exitCode === null && child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    run(['ip', '-n', this.options.namespace, 'address', 'del', `${IMDS_ADDRESS}/32`, 'dev', 'lo'], { check: false });
    rmSync(this.workDirectory, { recursive: true, force: true });
  }

  private async startAll(): Promise<void> {
    const { namespace } = this.options;
    run(['ip', '-n', namespace, 'link', 'set', 'lo', 'up']);
    run(['ip', '-n', namespace, 'address', 'add', `${IMDS_ADDRESS}/32`, 'dev', 'lo']);
    const imdsConfig = this.writeConfig('imds.json', {
      instanceId: this.options.instanceId,
      region: this.options.region,
      interfaces: this.options.interfaces,
    });
    await this.startDouble('imds_double.py', [
      '--address',
      IMDS_ADDRESS,
      '--port',
      '80',
      '--config',
      imdsConfig,
      '--record',
      this.path('imds.record'),
    ]);
    if (this.options.ec2Endpoint) return;
    const ec2Config = this.writeConfig('ec2.json', { routeTables: this.options.routeTables ?? {}, refusals: this.options.refusals ?? [] });
    const ready = await this.startDouble('ec2_api_double.py', [
      '--address',
      '127.0.0.1',
      '--port',
      '0',
      '--config',
      ec2Config,
      '--record',
      this.path('ec2.record'),
      '--state',
      this.path('ec2.state'),
    ]);
    this.ec2Port = Number(/:(\d+)$/.exec(ready)?.[1]);
  }

  /** Starts one double in the namespace; resolves with its "ready <address>:<port>" line. */
  private startDouble(script: string, args: string[]): Promise<string> {
    const argv = ['ip', 'netns', 'exec', this.options.namespace, 'python3', join(DOUBLES_DIRECTORY, script), ...args];
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.processes.push(child);
    return waitForReadyLine(child, `the ${script} double (${formatCommand(argv)})`, /^ready \S+$/m, READY_TIMEOUT_MS);
  }

  private path(name: string): string {
    return join(this.workDirectory, name);
  }

  private writeConfig(name: string, config: unknown): string {
    writeFileSync(this.path(name), JSON.stringify(config));
    return this.path(name);
  }

  private readJsonLines(name: string): unknown[] {
    const file = this.path(name);
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim().length > 0)
      .map((line) => JSON.parse(line));
  }
}
