/**
 * Test support: the real Terraform CLI with the real AWS provider, offline.
 *
 * The provider comes from a Terraform filesystem mirror (a directory holding
 * `registry.terraform.io/hashicorp/aws/<version>/<os_arch>/`): `TF_PROVIDER_MIRROR` when set,
 * else the first mirror found in the usual places (see `findProviderMirror`). A CLI config
 * (https://developer.hashicorp.com/terraform/cli/config/config-file#provider-installation)
 * installs hashicorp/aws from it and nothing from the registry.
 *
 * A `TerraformWorkspace` is a temporary directory holding one root configuration: the
 * synthesized JSON byte for byte, plus override files (`*_override.tf.json`) that only point the
 * provider at the emulated API (`emulatorProviderOverride`) and keep state local.
 */
import { execFileSync, spawnSync } from 'child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { homedir, tmpdir } from 'os';
import { join } from 'path';
import { MOTO_REGION } from './moto';

export const TERRAFORM_BINARY = process.env.TERRAFORM_BINARY ?? 'terraform';
/** The provider version the suite runs (the machine's mirror holds exactly this one). */
export const TESTED_AWS_PROVIDER = '5.100.0';

const MIRROR_CANDIDATES = [
  '/opt/tf-plugins',
  '/usr/share/terraform/plugins',
  '/usr/local/share/terraform/plugins',
  join(homedir(), '.terraform.d/plugins'),
  join(homedir(), '.local/share/terraform/plugins'),
];

let discoveredMirror: string | undefined;

/** Whether `dir` is a filesystem mirror holding hashicorp/aws. */
function holdsAwsProvider(dir: string): boolean {
  const aws = join(dir, 'registry.terraform.io/hashicorp/aws');
  return existsSync(aws) && readdirSync(aws).length > 0;
}

/**
 * The filesystem mirror that holds hashicorp/aws: `TF_PROVIDER_MIRROR`, else a usual place,
 * else whatever `find` shows under / (slow, once per process). Throws naming the variable.
 */
export function findProviderMirror(): string {
  if (process.env.TF_PROVIDER_MIRROR) {
    if (!holdsAwsProvider(process.env.TF_PROVIDER_MIRROR)) {
      throw new Error(`TF_PROVIDER_MIRROR=${process.env.TF_PROVIDER_MIRROR} holds no registry.terraform.io/hashicorp/aws`);
    }
    return process.env.TF_PROVIDER_MIRROR;
  }
  if (discoveredMirror) return discoveredMirror;
  discoveredMirror = MIRROR_CANDIDATES.find(holdsAwsProvider);
  if (!discoveredMirror) {
    const found = spawnSync(
      'find',
      [
        '/',
        '-xdev',
        '(',
        '-path',
        '/proc',
        '-o',
        '-name',
        'node_modules',
        ')',
        '-prune',
        '-o',
        '-name',
        'terraform-provider-aws_*',
        '-print',
        '-quit',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    ).stdout.trim();
    const match = /^(.*)\/registry\.terraform\.io\/hashicorp\/aws\//.exec(found);
    discoveredMirror = match?.[1];
  }
  if (!discoveredMirror) {
    throw new Error(
      'no Terraform filesystem mirror with hashicorp/aws found: set TF_PROVIDER_MIRROR to the directory above registry.terraform.io',
    );
  }
  return discoveredMirror;
}

let cliConfigFile: string | undefined;

/** A CLI config that installs hashicorp/aws from the mirror only (one file per process). */
export function terraformCliConfig(): string {
  if (cliConfigFile && existsSync(cliConfigFile)) return cliConfigFile;
  const mirror = findProviderMirror();
  // No plugin_cache_dir: Terraform links an unpacked mirror's provider into .terraform as it is
  // (nothing to cache), and a shared cache is not safe for concurrent runs (init replaces the
  // cache's link while another run's provider starts from it: "could not read package directory").
  cliConfigFile = join(mkdtempSync(join(tmpdir(), 'tf-cli-')), 'terraform.tfrc');
  writeFileSync(
    cliConfigFile,
    `# Offline: hashicorp/aws from the filesystem mirror, nothing from the registry.
provider_installation {
  filesystem_mirror {
    path    = ${JSON.stringify(mirror)}
    include = ["registry.terraform.io/hashicorp/aws"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/aws"]
  }
}
`,
  );
  return cliConfigFile;
}

/** The services our stacks call, each pointed at the emulator. */
const EMULATED_SERVICES = [
  'autoscaling',
  'cloudwatch',
  'codebuild',
  'codepipeline',
  'ec2',
  'events',
  'iam',
  'kms',
  'logs',
  's3',
  'sns',
  'ssm',
  'sts',
];

/**
 * The provider settings that point the AWS provider at the emulator with test credentials:
 * the only thing an override file adds to what users deploy.
 */
export function emulatorProviderSettings(endpoint: string, region = MOTO_REGION): Record<string, unknown> {
  return {
    region,
    access_key: 'testing',
    secret_key: 'testing',
    skip_credentials_validation: true,
    skip_requesting_account_id: false,
    skip_metadata_api_check: true,
    skip_region_validation: true,
    s3_use_path_style: true,
    endpoints: [Object.fromEntries(EMULATED_SERVICES.map((service) => [service, endpoint]))],
  };
}

export interface TerraformResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface TerraformRunOptions {
  /** Throw (with Terraform's output) on a non-zero exit. @default true */
  readonly check?: boolean;
  /** More environment (e.g. credentials for a backend). */
  readonly env?: Record<string, string>;
  /** @default 600_000 */
  readonly timeoutMs?: number;
}

/** Exit codes of coreutils `timeout`: the limit passed (124), or the process needed SIGKILL (137). */
const TIMED_OUT = 124;
const KILLED_AFTER_TIMEOUT = 137;

/** ANSI colour codes (ESC [ … m), built from the escape character's code to keep the pattern printable. */
const COLOUR_CODE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** Terraform's output without colour codes. */
export function plainText(text: string): string {
  return text.replace(COLOUR_CODE, '');
}

/** One root configuration in a temporary directory, run with the real Terraform CLI. */
export class TerraformWorkspace {
  readonly dir: string;

  /** A new temporary directory, or `dir` when given (see `at`). */
  constructor(label: string, dir?: string) {
    this.dir = dir ?? mkdtempSync(join(tmpdir(), `tf-${label}-`));
  }

  /** The root configuration in a subdirectory (e.g. a module's example beside the module). */
  at(subdirectory: string): TerraformWorkspace {
    return new TerraformWorkspace(subdirectory, join(this.dir, subdirectory));
  }

  /** Copies a directory's files in (e.g. a synthesized stack), byte for byte. */
  copyFrom(source: string, subdirectory = '.'): this {
    cpSync(source, join(this.dir, subdirectory), { recursive: true });
    return this;
  }

  /** Writes a file (JSON values are serialized). */
  write(name: string, content: string | object): this {
    const target = join(this.dir, name);
    mkdirSync(join(target, '..'), { recursive: true });
    writeFileSync(target, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    return this;
  }

  /**
   * Runs `terraform <args>` in the workspace, bounded: coreutils `timeout` stops Terraform and its
   * provider processes (one process group) after `timeoutMs`, and the run throws naming the
   * command and the limit, whatever `check` says. Without the bound, an API that stops answering
   * would hold a test (and CI) until the job limit.
   */
  run(args: string[], options: TerraformRunOptions = {}): TerraformResult {
    const limitSeconds = Math.ceil((options.timeoutMs ?? 600_000) / 1000);
    const result = spawnSync('timeout', ['--kill-after=20', String(limitSeconds), TERRAFORM_BINARY, ...args], {
      cwd: this.dir,
      encoding: 'utf8',
      // Only a backstop: `timeout` ends the run first.
      timeout: (limitSeconds + 60) * 1000,
      maxBuffer: 64 * 1024 * 1024,
      env: {
        ...process.env,
        CHECKPOINT_DISABLE: '1',
        TF_IN_AUTOMATION: '1',
        TF_INPUT: '0',
        TF_CLI_CONFIG_FILE: terraformCliConfig(),
        ...options.env,
      },
    });
    if (result.error) throw new Error(`terraform ${args.join(' ')}: ${result.error.message}`);
    const outcome = { code: result.status ?? -1, stdout: plainText(result.stdout), stderr: plainText(result.stderr) };
    if (outcome.code === TIMED_OUT || outcome.code === KILLED_AFTER_TIMEOUT) {
      throw new Error(
        `terraform ${args.join(' ')} did not finish within ${limitSeconds} s in ${this.dir} and was stopped ` +
          `(with its provider processes):\n${outcome.stderr.slice(-4000)}\n${outcome.stdout.slice(-4000)}`,
      );
    }
    if ((options.check ?? true) && outcome.code !== 0) {
      throw new Error(
        `terraform ${args.join(' ')} exited ${outcome.code} in ${this.dir}:\n${outcome.stderr}\n${outcome.stdout.slice(-4000)}`,
      );
    }
    return outcome;
  }

  init(options?: TerraformRunOptions): TerraformResult {
    return this.run(['init', '-input=false', '-no-color'], options);
  }

  /** `terraform output -json`, decoded to name → value. */
  outputs(): Record<string, unknown> {
    const decoded = JSON.parse(this.run(['output', '-json']).stdout) as Record<string, { value: unknown }>;
    return Object.fromEntries(Object.entries(decoded).map(([name, output]) => [name, output.value]));
  }

  /**
   * Evaluates an expression with `terraform console` against the state (e.g. a local as
   * Terraform rendered it) and returns its value, decoded from JSON.
   */
  evaluate(expression: string, options?: TerraformRunOptions): unknown {
    const result = spawnSync('timeout', ['--kill-after=20', '120', TERRAFORM_BINARY, 'console'], {
      cwd: this.dir,
      encoding: 'utf8',
      input: `jsonencode(${expression})\n`,
      env: { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_CLI_CONFIG_FILE: terraformCliConfig(), ...options?.env },
    });
    if (result.status !== 0)
      throw new Error(
        `terraform console could not evaluate ${expression}: ${plainText(result.stderr ?? '')}${plainText(result.stdout ?? '')}`,
      );
    // The console prints the JSON text as a quoted string: decode twice.
    return JSON.parse(JSON.parse(result.stdout.trim()) as string) as unknown;
  }

  /** `terraform state list`: the addresses Terraform still manages. */
  stateList(options?: TerraformRunOptions): string[] {
    // Never initialized: nothing can have been applied.
    if (!existsSync(join(this.dir, '.terraform'))) return [];
    const result = this.run(['state', 'list'], { ...options, check: false });
    // No state file yet, or the backend never initialized: nothing can have been applied.
    if (result.code !== 0 && /No state file was found|Backend initialization required/.test(result.stderr)) return [];
    if (result.code !== 0) throw new Error(`terraform state list exited ${result.code}: ${result.stderr}`);
    return result.stdout.split('\n').filter((line) => line.trim().length > 0);
  }

  /** `terraform show -json` of the state. */
  state(): { values?: { root_module?: StateModule } } {
    return JSON.parse(this.run(['show', '-json']).stdout) as { values?: { root_module?: StateModule } };
  }

  /** Every resource in the state, child modules included. */
  resources(): StateResource[] {
    const collect = (module?: StateModule): StateResource[] =>
      module ? [...(module.resources ?? []), ...(module.child_modules ?? []).flatMap(collect)] : [];
    return collect(this.state().values?.root_module);
  }

  remove(): void {
    if (!process.env.KEEP_TF) rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface StateResource {
  readonly address: string;
  readonly mode: 'managed' | 'data';
  readonly type: string;
  readonly values: Record<string, unknown>;
}

interface StateModule {
  readonly resources?: StateResource[];
  readonly child_modules?: StateModule[];
}

/** Whether the terraform binary runs at all (the suite says so loudly when it does not). */
export function terraformVersion(): string {
  const env = { ...process.env, CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: terraformCliConfig() };
  return execFileSync(TERRAFORM_BINARY, ['version'], { encoding: 'utf8', env }).split('\n')[0];
}
