import { existsSync, readFileSync } from 'fs';
import { dirname, join } from 'path';

/**
 * The AWS provider schema as shipped with `@cdktf/provider-aws` (21.22.1 = AWS provider 6.25.0),
 * read from the generated type declarations: every `lib/<resource>/index.d.ts` has a `…Config`
 * interface whose properties are the resource's arguments (optional ones marked `?`), each
 * documented with a registry link whose anchor is the Terraform argument name, and one interface
 * per nested block. That is the same metadata the typed bindings are generated from.
 */

export type ArgumentKind = 'string' | 'number' | 'bool' | 'list' | 'map' | 'block' | 'any';

export interface ArgumentSchema {
  /** Terraform argument name (snake_case). */
  readonly name: string;
  readonly required: boolean;
  readonly kind: ArgumentKind;
  /** For `block`: the nested block's schema. */
  readonly block?: BlockSchema;
  /** For `block`: whether several blocks are allowed (the binding types it as an array). */
  readonly multiple?: boolean;
}

export interface BlockSchema {
  /** The binding interface this schema was read from, e.g. `InstanceConfig`. */
  readonly source: string;
  readonly arguments: ReadonlyMap<string, ArgumentSchema>;
}

const PROVIDER_PACKAGE = '@cdktf/provider-aws';

function providerLibDir(): string {
  return join(dirname(require.resolve(`${PROVIDER_PACKAGE}/package.json`)), 'lib');
}

/** The provider package version, named in findings so a mismatch after an upgrade is obvious. */
export function providerPackageVersion(): string {
  const pkg = JSON.parse(readFileSync(require.resolve(`${PROVIDER_PACKAGE}/package.json`), 'utf8'));
  return String(pkg.version);
}

interface RawProperty {
  readonly jsName: string;
  readonly optional: boolean;
  readonly type: string;
  readonly doc: string;
}

/** Splits a declaration file into its interfaces: name -> properties. */
function parseInterfaces(declarations: string): Map<string, RawProperty[]> {
  const interfaces = new Map<string, RawProperty[]>();
  const interfacePattern = /^export interface (\w+)(?: extends [^{]+)? \{\n([\s\S]*?)^\}/gm;
  const propertyPattern = /\/\*\*([\s\S]*?)\*\/\s*readonly (\w+)(\?)?: ([^;]+);/g;
  for (const match of declarations.matchAll(interfacePattern)) {
    const properties: RawProperty[] = [];
    for (const prop of match[2].matchAll(propertyPattern)) {
      properties.push({ doc: prop[1], jsName: prop[2], optional: prop[3] === '?', type: prop[4].trim() });
    }
    interfaces.set(match[1], properties);
  }
  return interfaces;
}

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The registry link's anchor is the Terraform name (`fetchPasswordData` documents `get_password_data`). */
function terraformName(prop: RawProperty): string {
  const anchor = /\{@link https?:\/\/\S+#([A-Za-z0-9_]+) /.exec(prop.doc);
  return anchor ? anchor[1] : snakeCase(prop.jsName);
}

function buildBlock(source: string, interfaces: Map<string, RawProperty[]>, seen: Set<string>): BlockSchema {
  const args = new Map<string, ArgumentSchema>();
  const properties = interfaces.get(source) ?? [];
  for (const prop of properties) {
    const name = terraformName(prop);
    args.set(name, argumentFromType(name, !prop.optional, prop.type, interfaces, seen));
  }
  return { source, arguments: args };
}

function argumentFromType(
  name: string,
  required: boolean,
  type: string,
  interfaces: Map<string, RawProperty[]>,
  seen: Set<string>,
): ArgumentSchema {
  const bare = type.replace(/\s*\|\s*cdktf\.IResolvable$/, '');
  if (bare === 'string') return { name, required, kind: 'string' };
  if (bare === 'number') return { name, required, kind: 'number' };
  if (bare === 'boolean') return { name, required, kind: 'bool' };
  if (/^(string|number|boolean)\[\]$/.test(bare)) return { name, required, kind: 'list' };
  if (/^\{\s*\[key: string\]/.test(bare)) return { name, required, kind: 'map' };
  const struct = /^(\w+)(\[\])?$/.exec(bare);
  if (struct && interfaces.has(struct[1]) && !seen.has(struct[1])) {
    const nested = buildBlock(struct[1], interfaces, new Set([...seen, struct[1]]));
    return { name, required, kind: 'block', block: nested, multiple: struct[2] === '[]' };
  }
  return { name, required, kind: 'any' };
}

/** Where the binding of a Terraform type lives: `aws_vpc_endpoint` -> `vpc-endpoint`, data sources `data-aws-…`. */
function bindingDirectory(terraformType: string, isData: boolean): string | undefined {
  if (!terraformType.startsWith('aws_')) return undefined;
  const rest = terraformType.slice('aws_'.length).replace(/_/g, '-');
  return isData ? `data-aws-${rest}` : rest;
}

const cache = new Map<string, BlockSchema | undefined>();

function loadConfigSchema(directory: string, expectedType: string | undefined): BlockSchema | undefined {
  const key = `${directory}:${expectedType ?? ''}`;
  if (cache.has(key)) return cache.get(key);
  const libDir = providerLibDir();
  const declarationFile = join(libDir, directory, 'index.d.ts');
  let schema: BlockSchema | undefined;
  if (existsSync(declarationFile)) {
    const implementation = readFileSync(join(libDir, directory, 'index.js'), 'utf8');
    const typeMatches = expectedType === undefined || implementation.includes(`tfResourceType = "${expectedType}"`);
    const declarations = readFileSync(declarationFile, 'utf8');
    const interfaces = parseInterfaces(declarations);
    const configName = /^export interface (\w+Config\w*)(?: extends cdktf\.TerraformMetaArguments)? \{/m.exec(declarations)?.[1];
    if (typeMatches && configName) schema = buildBlock(configName, interfaces, new Set([configName]));
  }
  cache.set(key, schema);
  return schema;
}

/** Schema of a managed resource type, or undefined when the provider package does not know the type. */
export function resourceSchema(terraformType: string): BlockSchema | undefined {
  if (terraformType === 'terraform_data') return TERRAFORM_DATA_SCHEMA;
  const directory = bindingDirectory(terraformType, false);
  return directory ? loadConfigSchema(directory, terraformType) : undefined;
}

/** Schema of a data source type (`aws_ami` for `data.aws_ami.x`). */
export function dataSourceSchema(terraformType: string): BlockSchema | undefined {
  const directory = bindingDirectory(terraformType, true);
  return directory ? loadConfigSchema(directory, terraformType) : undefined;
}

/** Schema of the `provider "aws"` block. */
export function awsProviderSchema(): BlockSchema | undefined {
  return loadConfigSchema('provider', 'aws');
}

/** Terraform's built-in `terraform_data` resource (not part of the AWS provider). */
const TERRAFORM_DATA_SCHEMA: BlockSchema = {
  source: 'terraform (built-in)',
  arguments: new Map<string, ArgumentSchema>([
    ['input', { name: 'input', required: false, kind: 'any' }],
    ['triggers_replace', { name: 'triggers_replace', required: false, kind: 'any' }],
  ]),
};
