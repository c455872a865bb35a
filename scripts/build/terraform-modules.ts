/**
 * `npm run build:modules`: the Terraform modules under terraform/modules/ — release artifacts that
 * users call with `source = "git::…//terraform/modules/<name>?ref=vX.Y.Z"` — regenerated from a
 * fresh synth of the module stacks:
 *
 *   terraform/modules/<name>/main.tf.json  the stack's cdk.tf.json without cdktf's "//" metadata
 *                                          (construct paths, a stack name); otherwise byte for byte
 *   terraform/modules/<name>/README.md     its requirements, inputs and outputs tables, between the markers;
 *                                          everything else in the README is written by hand
 *
 * `--check` writes nothing and exits 1 when a committed file differs (the unit suite's drift test
 * runs the same comparison).
 */
import { App, TerraformStack } from 'cdktf';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { createRequire } from 'module';
import { tmpdir } from 'os';
import { join, relative } from 'path';
import { ExistingInstanceNatModuleStack } from '../../stacks/existing-instance-nat-module';
import { NatModuleStack } from '../../stacks/nat-module';

const ROOT = join(__dirname, '..', '..');
export const TERRAFORM_MODULES_DIR = join(ROOT, 'terraform', 'modules');

export interface TerraformModuleDefinition {
  /** Directory under terraform/modules/. */
  readonly name: string;
  /** The stack it is synthesized from: its name in main.ts (the self-healing module's stack is synthesized only here). */
  readonly stack: string;
  readonly define: (app: App, stack: string) => TerraformStack;
}

export const TERRAFORM_MODULES: TerraformModuleDefinition[] = [
  { name: 'nat-instance', stack: 'nat-module', define: (app, stack) => new NatModuleStack(app, stack) },
  {
    name: 'nat-instance-self-healing',
    stack: 'nat-self-healing-module',
    define: (app, stack) => new NatModuleStack(app, stack, { selfHealing: true }),
  },
  {
    name: 'existing-instance-nat',
    stack: 'existing-instance-nat-module',
    define: (app, stack) => new ExistingInstanceNatModuleStack(app, stack),
  },
];

export const MODULE_FILE = 'main.tf.json';
export const README_BEGIN = '<!-- BEGIN GENERATED: requirements, inputs and outputs, by npm run build:modules -->';
export const README_END = '<!-- END GENERATED -->';

/** A Terraform JSON document or block. */
type Json = { [key: string]: unknown };

/** What the README tables read from a `variable` or `output` block. */
interface DocumentedBlock {
  readonly type?: string;
  readonly description?: string;
  readonly default?: unknown;
}

/** The synthesized `cdk.tf.json` text of every module stack, by module name. */
export function synthesizeModuleStacks(): Map<string, string> {
  const outdir = mkdtempSync(join(tmpdir(), 'nat-modules-'));
  try {
    const app = new App({ outdir });
    for (const module of TERRAFORM_MODULES) module.define(app, module.stack);
    app.synth();
    return new Map(
      TERRAFORM_MODULES.map((module) => [module.name, readFileSync(join(outdir, 'stacks', module.stack, 'cdk.tf.json'), 'utf8')]),
    );
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * cdktf's metadata removed: the document's top-level "//" (stack name, cdktf version, overrides)
 * and the "//" of each resource and data source (construct path and unique ID). Terraform reads
 * "//" as a comment, so nothing else changes; the resource addresses stay as synthesized.
 */
export function withoutCdktfMetadata(document: Json): Json {
  const { '//': _stackMetadata, ...rest } = document;
  for (const kind of ['resource', 'data'] as const) {
    for (const blocks of Object.values((rest[kind] ?? {}) as Record<string, Record<string, Json>>)) {
      for (const block of Object.values(blocks)) delete block['//'];
    }
  }
  return rest;
}

/**
 * The serializer cdktf writes cdk.tf.json with (json-stable-stringify with two-space indentation,
 * bundled in cdktf: lib/synthesize/synthesizer.js), so that the module file is cdktf's own text.
 */
export function cdktfStringify(document: unknown): string {
  const requireFromCdktf = createRequire(require.resolve('cdktf'));
  const stringify = requireFromCdktf('json-stable-stringify') as (value: unknown, options: { space: number }) => string;
  return stringify(document, { space: 2 });
}

/** The module file: the document without metadata as cdktf serializes it, and a final newline. */
export function moduleFileText(cdkTfJson: string): string {
  return `${cdktfStringify(withoutCdktfMetadata(JSON.parse(cdkTfJson) as Json))}\n`;
}

/** A Terraform value as HCL for a README table (defaults are JSON-compatible values). */
function hclValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(hclValue).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([key, item]) => ` ${key} = ${hclValue(item)}`)
      .join(',')}${Object.keys(value).length ? ' ' : ''}}`;
  }
  return JSON.stringify(value);
}

/** Table cell text: one line, single spaces, no unescaped pipe. */
function cell(text: string): string {
  return text.replace(/\s+/g, ' ').trim().replace(/\|/g, '\\|');
}

/** The generated part of a module README: requirements, inputs and outputs, from the module file. */
export function inputsAndOutputs(module: Json): string {
  const terraform = (module.terraform ?? {}) as {
    required_version?: string;
    required_providers?: Record<string, { source: string; version: string }>;
  };
  const variables = Object.entries((module.variable ?? {}) as Record<string, DocumentedBlock>);
  const outputs = Object.entries((module.output ?? {}) as Record<string, DocumentedBlock>);
  const required = variables.filter(([, variable]) => !('default' in variable));
  const optional = variables.filter(([, variable]) => 'default' in variable);
  return [
    '## Requirements',
    '',
    '| name | version |',
    '|---|---|',
    `| terraform | \`${terraform.required_version}\` |`,
    ...Object.values(terraform.required_providers ?? {}).map((provider) => `| ${provider.source} | \`${provider.version}\` |`),
    '',
    '## Inputs',
    '',
    '| name | description | type | default |',
    '|---|---|---|---|',
    ...[...required, ...optional].map(
      ([name, variable]) =>
        `| \`${name}\` | ${cell(variable.description ?? '')} | \`${cell(String(variable.type))}\` | ${'default' in variable ? `\`${cell(hclValue(variable.default))}\`` : 'required'} |`,
    ),
    '',
    '## Outputs',
    '',
    '| name | description |',
    '|---|---|',
    ...outputs.map(([name, output]) => `| \`${name}\` | ${cell(output.description ?? '')} |`),
  ].join('\n');
}

/** The README with its generated part replaced; throws when the markers are missing. */
export function readmeWithTables(readme: string, module: Json, readmePath: string): string {
  const begin = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  if (begin < 0 || end < begin) throw new Error(`${readmePath}: add the lines '${README_BEGIN}' and '${README_END}' where the tables go`);
  return `${readme.slice(0, begin + README_BEGIN.length)}\n${inputsAndOutputs(module)}\n${readme.slice(end)}`;
}

/** Every generated file (path relative to the repository) with the content a fresh synth gives it. */
export function expectedModuleFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const [name, cdkTfJson] of synthesizeModuleStacks()) {
    const dir = join(TERRAFORM_MODULES_DIR, name);
    const moduleText = moduleFileText(cdkTfJson);
    files.set(relative(ROOT, join(dir, MODULE_FILE)), moduleText);
    const readmePath = join(dir, 'README.md');
    if (!existsSync(readmePath))
      throw new Error(`${relative(ROOT, readmePath)} is missing: write its hand-written part with the markers first`);
    files.set(relative(ROOT, readmePath), readmeWithTables(readFileSync(readmePath, 'utf8'), JSON.parse(moduleText) as Json, readmePath));
  }
  return files;
}

/** The generated files whose committed content differs from a fresh synth. */
export function driftedModuleFiles(): string[] {
  return [...expectedModuleFiles()]
    .filter(([path, text]) => !existsSync(join(ROOT, path)) || readFileSync(join(ROOT, path), 'utf8') !== text)
    .map(([path]) => path);
}

function main(): void {
  if (process.argv.includes('--check')) {
    const drifted = driftedModuleFiles();
    if (drifted.length > 0) {
      console.error(`out of date (run npm run build:modules): ${drifted.join(', ')}`);
      process.exit(1);
    }
    console.error('terraform/modules: up to date');
    return;
  }
  for (const [path, text] of expectedModuleFiles()) {
    writeFileSync(join(ROOT, path), text);
    console.error(`written: ${path}`);
  }
}

if (require.main === module) main();
