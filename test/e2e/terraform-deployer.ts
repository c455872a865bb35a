import { spawn } from 'child_process';
import { join } from 'path';
import { DeployedStack, StackDeployer } from './connectivity-e2e';

/** Runs a command with inherited output; rejects naming the command on a non-zero exit. */
export type CommandRunner = (command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }) => Promise<string>;

export const spawnCommand: CommandRunner = (command, args, options) =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      process.stdout.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))));
  });

export interface TerraformDeployerConfig {
  /** Repository root (where cdktf.json lives). */
  readonly projectDir: string;
  /** The cdktf stack to deploy. */
  readonly stackName: string;
  /** The S3 state location: a later build can destroy what a killed build left. */
  readonly stateBucket: string;
  readonly stateKey: string;
  /** Instance profile for the NAT and test instances (the build may not create IAM roles). */
  readonly instanceProfileName: string;
  readonly region: string;
}

/** Reads the deployer's settings from the CodeBuild environment; names every missing variable. */
export function terraformDeployerConfigFromEnv(env: NodeJS.ProcessEnv, projectDir: string): TerraformDeployerConfig {
  const missing = ['NAT_STATE_BUCKET', 'TESTING_SSM_ROLE'].filter((name) => !env[name]);
  const region = env.NAT_EXAMPLE_REGION || env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (!region) missing.push('AWS_REGION');
  const stateKey =
    env.NAT_STATE_KEY ||
    (env.CODEBUILD_BUILD_NUMBER && `${env.NAT_STATE_KEY_PREFIX ?? 'e2e-state/'}build-${env.CODEBUILD_BUILD_NUMBER}.tfstate`);
  if (!stateKey) missing.push('NAT_STATE_KEY (or CODEBUILD_BUILD_NUMBER)');
  if (missing.length > 0) throw new Error(`e2e settings missing from the environment: ${missing.join(', ')}`);
  return {
    projectDir,
    stackName: env.NAT_E2E_STACK || 'nat-example',
    stateBucket: env.NAT_STATE_BUCKET!,
    stateKey: stateKey!,
    instanceProfileName: env.TESTING_SSM_ROLE!,
    region: region!,
  };
}

/**
 * Deploys a cdktf stack with plain Terraform on its synthesized directory (cdktf.out/stacks/<name>):
 * synth with the S3 backend settings in the environment, `init`, `apply`, `output -json`; destroy
 * re-synthesizes and re-initializes, so it also works after a deploy that failed half-way.
 */
export class TerraformDeployer implements StackDeployer {
  constructor(
    private readonly config: TerraformDeployerConfig,
    private readonly run: CommandRunner = spawnCommand,
    private readonly baseEnv: NodeJS.ProcessEnv = process.env,
  ) {}

  async deploy(): Promise<DeployedStack> {
    await this.prepare();
    await this.terraform(['apply', '-input=false', '-auto-approve']);
    const outputs = JSON.parse(await this.terraform(['output', '-json'])) as Record<string, { value: unknown }>;
    return parseStackOutputs(outputs);
  }

  async destroy(): Promise<void> {
    await this.prepare();
    await this.terraform(['destroy', '-input=false', '-auto-approve']);
  }

  private get env(): NodeJS.ProcessEnv {
    return {
      ...this.baseEnv,
      CHECKPOINT_DISABLE: '1',
      NAT_EXAMPLE_REGION: this.config.region,
      TESTING_SSM_ROLE: this.config.instanceProfileName,
      NAT_STATE_BUCKET: this.config.stateBucket,
      NAT_STATE_KEY: this.config.stateKey,
    };
  }

  private async prepare(): Promise<void> {
    await this.run('npx', ['cdktf', 'synth'], { cwd: this.config.projectDir, env: this.env });
    await this.terraform(['init', '-input=false', '-reconfigure']);
  }

  private terraform(args: string[]): Promise<string> {
    const stackDir = join(this.config.projectDir, 'cdktf.out', 'stacks', this.config.stackName);
    return this.run('terraform', args, { cwd: stackDir, env: this.env });
  }
}

/** The nat-example outputs `public-ip` and `test-instances-ids`, checked. */
export function parseStackOutputs(outputs: Record<string, { value: unknown }>): DeployedStack {
  const publicIp = outputs['public-ip']?.value;
  const ids = outputs['test-instances-ids']?.value;
  if (typeof publicIp !== 'string') throw new Error(`stack output 'public-ip' missing or not a string: ${JSON.stringify(publicIp)}`);
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) {
    throw new Error(`stack output 'test-instances-ids' missing or not a list of IDs: ${JSON.stringify(ids)}`);
  }
  return { publicIp, testInstanceIds: ids as string[] };
}
