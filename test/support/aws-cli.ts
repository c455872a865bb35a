/**
 * Test support: the real AWS CLI against the emulated API (`moto.clientEnv`), JSON in and out.
 * Used to read back what Terraform created, independently of Terraform's own state.
 */
import { spawnSync } from 'child_process';

export interface AwsCliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `aws <args> --output json` with `env` (credentials, region, endpoint); bounded to 60 s. */
export function awsCliResult(env: Record<string, string>, args: string[]): AwsCliResult {
  const result = spawnSync('aws', [...args, '--output', 'json'], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.error) throw new Error(`aws ${args.join(' ')}: ${result.error.message}`);
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Runs `aws <args>` and returns its decoded JSON answer (undefined when it prints nothing); throws on failure. */
export function awsCli<T = any>(env: Record<string, string>, args: string[]): T {
  const result = awsCliResult(env, args);
  if (result.code !== 0) throw new Error(`aws ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
  return (result.stdout.trim() ? JSON.parse(result.stdout) : undefined) as T;
}
