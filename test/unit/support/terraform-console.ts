/**
 * Test support: evaluate synthesized strings the way Terraform does, with the real
 * `terraform console` on a provider-free configuration (works offline, no `init` needed).
 *
 * A synthesized string may reference data sources, resources and variables that need a provider
 * or an apply. `substitutions` maps a regular expression of such references (e.g.
 * `data\.aws_partition\.\w+\.partition`) to the concrete value it stands for in the test;
 * variables keep their references and get their values as defaults.
 */
import { execFileSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { plainText } from '../../support/terraform';

export const TERRAFORM_BINARY = process.env.TERRAFORM_BINARY ?? '/usr/local/bin/terraform';

export interface TerraformValues {
  /** Reference pattern → concrete value; each match becomes a `local.*` holding the value. */
  readonly substitutions?: ReadonlyArray<readonly [RegExp, string]>;
  /** Variable name → value: a string, a list of strings, or any value with its Terraform type. */
  readonly variables?: Record<string, string | string[] | TypedValue>;
}

/** A variable's value with its declared type (e.g. a module variable's own type, optional attributes included). */
export interface TypedValue {
  readonly type: string;
  readonly value: unknown;
}

/**
 * Evaluates a string exactly as Terraform would read it from `cdk.tf.json` (a template:
 * `${…}` interpolations are evaluated, `$${` yields `${`) and returns the resulting string.
 * Throws with Terraform's message when the string is not valid Terraform, or when a reference
 * is left that `values` does not cover.
 */
export function evaluateTerraformString(template: string, values: TerraformValues = {}): string {
  const result = evaluateTerraformValue(template, values);
  if (typeof result !== 'string') throw new Error(`terraform evaluated the string to a ${typeof result}: ${JSON.stringify(result)}`);
  return result;
}

/**
 * Like `evaluateTerraformString`, for any value: a string that is one `${…}` interpolation
 * evaluates to the expression's value (a list, an object…), returned as its JSON decoding.
 */
export function evaluateTerraformValue(template: string, values: TerraformValues = {}): unknown {
  const locals: Record<string, string> = {};
  let text = template;
  (values.substitutions ?? []).forEach(([pattern, value], i) => {
    const name = `substituted_${i}`;
    locals[name] = value;
    text = text.replace(new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : pattern.flags + 'g'), `local.${name}`);
  });
  locals.evaluated = text;
  const variable = Object.fromEntries(
    Object.entries(values.variables ?? {}).map(([name, value]) => [
      name,
      typeof value === 'object' && !Array.isArray(value)
        ? { type: value.type, default: value.value }
        : { type: Array.isArray(value) ? 'list(string)' : 'string', default: value },
    ]),
  );
  const dir = mkdtempSync(join(tmpdir(), 'tf-console-'));
  try {
    writeFileSync(join(dir, 'main.tf.json'), JSON.stringify({ locals, ...(Object.keys(variable).length ? { variable } : {}) }));
    let printed: string;
    try {
      printed = execFileSync(TERRAFORM_BINARY, ['console'], {
        cwd: dir,
        input: 'jsonencode(local.evaluated)\n',
        encoding: 'utf8',
        env: { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_CLI_CONFIG_FILE: '/dev/null' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    } catch (error) {
      const failure = error as { stderr?: string; stdout?: string; code?: string };
      if (failure.code === 'ENOENT') throw new Error(`terraform not found at ${TERRAFORM_BINARY} (set TERRAFORM_BINARY)`);
      throw new Error(`terraform could not evaluate the string: ${failure.stderr ?? ''}${failure.stdout ?? ''}`);
    }
    // The console prints the JSON text of the result as a quoted string: decode twice.
    try {
      return JSON.parse(JSON.parse(printed.trim())) as unknown;
    } catch {
      throw new Error(`terraform could not evaluate the string: ${plainText(printed)}`);
    }
  } finally {
    if (!process.env.KEEP_TF) rmSync(dir, { recursive: true, force: true });
  }
}
