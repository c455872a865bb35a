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
      ['/', '-xdev', '(', '-path', '/proc', '-o', '-name', 'node_modules', ')', '-prune', '-o', '-name', 'terraform-provider-aws_*', '-print', '-quit'],
      { encoding: 'utf8', timeout: 60_000 },
    ).stdout.trim();
    const match = /^(.*)\/registry\.terraform\.io\/hashicorp\/aws\//.exec(found);
    discoveredMirror = match?.[1];
  }
  if (!discoveredMirror) {
    throw new Error('no Terraform filesystem mirror with hashicorp/aws found: set TF_PROVIDER_MIRROR to the directory above registry.terraform.io');
  }
  return discoveredMirror;
}

let cliConfigFile: string | undefined;

/** A CLI config that installs hashicorp/aws from the mirror only (one file per process). */
export function terraformCliConfig(): string {
  if (cliConfigFile && existsSync(cliConfigFile)) return cliConfigFile;
  const mirror = findProviderMirror();
  const cache = join(tmpdir(), 'nat-instance-tf-plugin-cache');
  mkdirSync(cache, { recursive: true });
  cliConfigFile = join(mkdtempSync(join(tmpdir(), 'tf-cli-')), 'terraform.tfrc');
  writeFileSync(
    cliConfigFile,
    `# Offline: hashicorp/aws from the filesystem mirror, nothing from the registry.
plugin_cache_dir = ${JSON.stringify(cache)}
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
  'autoscaling', 'cloudwatch', 'codebuild', 'codepipeline', 'ec2', 'events', 'iam', 'kms', 'logs', 's3', 'sns', 'ssm', 'sts',
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

/** Terraform's output without colour codes. */
export function plainText(text: string): string {
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}

/** One root configuration in a temporary directory, run with the real Terraform CLI. */
export class TerraformWorkspace {
  readonly dir: string;

  constructor(label: string) {
    this.dir = mkdtempSync(join(tmpdir(), `tf-${label}-`));
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

  /** Runs `terraform <args>` in the workspace (`-chdir` for a subdirectory). */
  run(args: string[], options: TerraformRunOptions = {}): TerraformResult {
    const result = spawnSync(TERRAFORM_BINARY, args, {
      cwd: this.dir,
      encoding: 'utf8',
      timeout: options.timeoutMs ?? 600_000,
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
    if ((options.check ?? true) && outcome.code !== 0) {
      throw new Error(`terraform ${args.join(' ')} exited ${outcome.code} in ${this.dir}:\n${outcome.stderr}\n${outcome.stdout.slice(-4000)}`);
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
