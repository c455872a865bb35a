/**
 * Test support: a module's variable blocks checked by Terraform itself. The variables alone need
 * no provider, so `terraform init` and `plan` run offline; `plan` with `-var` values either
 * accepts them or fails with the variable's own validation message.
 */
import { execFileSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { TERRAFORM_BINARY } from './terraform-console';

export interface PlanResult {
  readonly ok: boolean;
  readonly output: string;
}

export interface VariablePlanner {
  /** `terraform plan` with these -var values (JSON text is a valid value for lists and objects). */
  plan(vars: Record<string, string>): PlanResult;
  remove(): void;
}

/** A configuration holding only `variables` (a module's `variable` block), initialized. */
export function variablePlanner(variables: Record<string, unknown>): VariablePlanner {
  const dir = mkdtempSync(join(tmpdir(), 'module-vars-'));
  const env = { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' };
  const run = (args: string[]) =>
    execFileSync(TERRAFORM_BINARY, args, { cwd: dir, encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
  // Pretty-printed, so Terraform's echo of a failing line is that line alone.
  writeFileSync(join(dir, 'variables.tf.json'), JSON.stringify({ variable: variables }, null, 2));
  run(['init', '-input=false', '-no-color']);
  return {
    plan(vars) {
      const args = ['plan', '-input=false', '-no-color', ...Object.entries(vars).flatMap(([name, value]) => ['-var', `${name}=${value}`])];
      try {
        return { ok: true, output: run(args) };
      } catch (error) {
        const failure = error as { stderr?: string; stdout?: string };
        return { ok: false, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` };
      }
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The plan failed in a variable's validation (not in the configuration), with `message`. */
export function expectRefusal(result: PlanResult, message: string): void {
  const output = result.output.replace(/[\s│]+/g, ' ');
  expect(result.ok).toBe(false);
  expect(output).toContain('Invalid value for variable');
  expect(output).toContain(message);
}
