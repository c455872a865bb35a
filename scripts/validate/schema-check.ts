import { FindingSink } from './finding';
import {
  ArgumentSchema,
  awsProviderSchema,
  BlockSchema,
  dataSourceSchema,
  providerPackageVersion,
  resourceSchema,
} from './provider-schema';
import { blockBodies, hasTemplateSequence, isObject, joinPath, JsonObject, JsonValue, METADATA_KEY } from './terraform-json';

/**
 * Structural check of one synthesized stack: every resource, data source and provider block
 * against the provider schema (unknown arguments, missing required arguments, block vs attribute,
 * one block vs several), plus the shape of `terraform`, `output`, `variable`, `locals`, `module`.
 */

const TOP_LEVEL_KEYS = new Set([
  METADATA_KEY,
  'terraform',
  'provider',
  'resource',
  'data',
  'output',
  'variable',
  'locals',
  'module',
  'moved',
  'import',
  'check',
  'removed',
]);
const RESOURCE_META_ARGUMENTS = new Set(['count', 'for_each', 'depends_on', 'provider', 'lifecycle', 'provisioner', 'connection']);
const DATA_META_ARGUMENTS = new Set(['count', 'for_each', 'depends_on', 'provider', 'lifecycle']);
const LIFECYCLE_KEYS = new Set([
  'create_before_destroy',
  'prevent_destroy',
  'ignore_changes',
  'replace_triggered_by',
  'precondition',
  'postcondition',
]);
const OUTPUT_KEYS = new Set(['value', 'description', 'sensitive', 'depends_on', 'precondition', 'ephemeral']);
const VARIABLE_KEYS = new Set(['type', 'default', 'description', 'sensitive', 'nullable', 'validation', 'ephemeral']);
const MODULE_META_ARGUMENTS = new Set(['source', 'version', 'count', 'for_each', 'depends_on', 'providers']);
const TERRAFORM_KEYS = new Set(['required_version', 'required_providers', 'backend', 'cloud', 'experiments', 'provider_meta']);
const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function checkStackSchema(doc: JsonValue, sink: FindingSink): void {
  if (!isObject(doc)) {
    sink.add('-', '-', 'stack JSON is not an object');
    return;
  }
  for (const key of Object.keys(doc)) {
    if (!TOP_LEVEL_KEYS.has(key)) sink.add(key, '-', `unknown top-level block '${key}'`);
  }
  checkTerraformBlock(doc.terraform, sink);
  const providerAliases = checkProviders(doc.provider, sink);
  checkResources(doc.resource, 'resource', sink, providerAliases);
  checkResources(doc.data, 'data', sink, providerAliases);
  checkNamedBlocks(doc.output, 'output', OUTPUT_KEYS, ['value'], sink);
  checkNamedBlocks(doc.variable, 'variable', VARIABLE_KEYS, [], sink);
  checkNamedBlocks(doc.module, 'module', undefined, ['source'], sink);
  if (doc.locals !== undefined && !isObject(doc.locals) && !Array.isArray(doc.locals)) sink.add('locals', '-', 'locals must be an object');
}

function checkTerraformBlock(value: JsonValue | undefined, sink: FindingSink): void {
  if (value === undefined) return;
  for (const body of blockBodies(value)) {
    if (!isObject(body)) {
      sink.add('terraform', '-', 'terraform block must be an object');
      continue;
    }
    for (const [key, setting] of Object.entries(body)) {
      if (!TERRAFORM_KEYS.has(key)) sink.add('terraform', key, `unknown terraform setting '${key}'`);
      if (typeof setting === 'string' && hasTemplateSequence(setting))
        sink.add('terraform', key, 'the terraform block cannot use interpolations');
    }
    checkRequiredProviders(body.required_providers, sink);
    if (body.backend !== undefined) {
      if (!isObject(body.backend) || Object.keys(body.backend).length !== 1)
        sink.add('terraform', 'backend', 'backend must name exactly one backend type');
    }
  }
}

function checkRequiredProviders(value: JsonValue | undefined, sink: FindingSink): void {
  if (value === undefined) return;
  for (const body of blockBodies(value)) {
    if (!isObject(body)) {
      sink.add('terraform', 'required_providers', 'required_providers must be an object');
      continue;
    }
    for (const [name, requirement] of Object.entries(body)) {
      const attribute = joinPath('required_providers', name);
      if (!isObject(requirement)) {
        sink.add('terraform', attribute, 'provider requirement must be an object with source and version');
        continue;
      }
      for (const key of Object.keys(requirement)) {
        if (!['source', 'version', 'configuration_aliases'].includes(key))
          sink.add('terraform', joinPath(attribute, key), `unknown provider requirement key '${key}'`);
      }
      if (typeof requirement.source !== 'string') sink.add('terraform', joinPath(attribute, 'source'), 'source must be a string');
    }
  }
}

/** Checks `provider` blocks; returns the declared provider references (`aws`, `aws.west`). */
function checkProviders(value: JsonValue | undefined, sink: FindingSink): Set<string> {
  const declared = new Set<string>();
  if (value === undefined) return declared;
  if (!isObject(value)) {
    sink.add('provider', '-', 'provider must be an object keyed by provider name');
    return declared;
  }
  for (const [name, configs] of Object.entries(value)) {
    const schema = name === 'aws' ? awsProviderSchema() : undefined;
    blockBodies(configs).forEach((config, index) => {
      const address = `provider.${name}[${index}]`;
      if (!isObject(config)) {
        sink.add(address, '-', 'provider configuration must be an object');
        return;
      }
      const alias = typeof config.alias === 'string' ? config.alias : undefined;
      const reference = alias ? `${name}.${alias}` : name;
      if (declared.has(reference))
        sink.add(
          address,
          alias ? 'alias' : '-',
          `duplicate provider configuration '${reference}' (give each extra configuration a unique alias)`,
        );
      declared.add(reference);
      if (!schema) {
        sink.add(address, '-', `no schema for provider '${name}' (only aws is installed)`);
        return;
      }
      checkBlockBody(config, schema, address, '', sink, new Set());
    });
  }
  return declared;
}

function checkResources(value: JsonValue | undefined, mode: 'resource' | 'data', sink: FindingSink, providers: Set<string>): void {
  if (value === undefined) return;
  if (!isObject(value)) {
    sink.add(mode, '-', `${mode} must be an object keyed by type`);
    return;
  }
  for (const [type, instances] of Object.entries(value)) {
    const schema = mode === 'resource' ? resourceSchema(type) : dataSourceSchema(type);
    if (!isObject(instances)) {
      sink.add(mode === 'data' ? `data.${type}` : type, '-', `${mode} type must map names to bodies`);
      continue;
    }
    for (const [name, body] of Object.entries(instances)) {
      const address = mode === 'data' ? `data.${type}.${name}` : `${type}.${name}`;
      if (!NAME_PATTERN.test(name)) sink.add(address, '-', `invalid ${mode} name '${name}'`);
      if (!schema) {
        sink.add(
          address,
          '-',
          `unknown ${mode === 'data' ? 'data source' : 'resource'} type '${type}' in @cdktf/provider-aws ${providerPackageVersion()}`,
        );
        continue;
      }
      if (!isObject(body)) {
        sink.add(address, '-', 'body must be an object');
        continue;
      }
      const metaArguments = mode === 'resource' ? RESOURCE_META_ARGUMENTS : DATA_META_ARGUMENTS;
      checkMetaArguments(body, address, sink, providers);
      checkBlockBody(body, schema, address, '', sink, metaArguments);
    }
  }
}

function checkMetaArguments(body: JsonObject, address: string, sink: FindingSink, providers: Set<string>): void {
  if (body.count !== undefined && body.for_each !== undefined) sink.add(address, 'count', 'count and for_each cannot both be set');
  if (body.depends_on !== undefined && !(Array.isArray(body.depends_on) && body.depends_on.every((d) => typeof d === 'string'))) {
    sink.add(address, 'depends_on', 'depends_on must be a list of references');
  }
  if (body.provider !== undefined) {
    if (typeof body.provider !== 'string') sink.add(address, 'provider', 'provider must be a reference such as aws.alias');
    else if (!providers.has(body.provider) && !(body.provider === 'aws' && providers.size === 0)) {
      sink.add(address, 'provider', `provider '${body.provider}' is not configured in this stack`);
    }
  }
  if (body.lifecycle !== undefined) {
    for (const lifecycle of blockBodies(body.lifecycle)) {
      if (!isObject(lifecycle)) {
        sink.add(address, 'lifecycle', 'lifecycle must be an object');
        continue;
      }
      for (const key of Object.keys(lifecycle)) {
        if (!LIFECYCLE_KEYS.has(key)) sink.add(address, joinPath('lifecycle', key), `unknown lifecycle argument '${key}'`);
      }
    }
  }
}

/** Checks one block body: unknown arguments, missing required ones, and the shape of each value. */
export function checkBlockBody(
  body: JsonObject,
  schema: BlockSchema,
  address: string,
  path: string,
  sink: FindingSink,
  metaArguments: Set<string>,
): void {
  const dynamicBlocks = isObject(body.dynamic) ? body.dynamic : {};
  for (const [key, value] of Object.entries(body)) {
    if (key === METADATA_KEY || metaArguments.has(key)) continue;
    if (key === 'dynamic') {
      checkDynamicBlocks(value, schema, address, path, sink);
      continue;
    }
    const argument = schema.arguments.get(key);
    if (!argument) {
      sink.add(
        address,
        joinPath(path, key),
        `unknown argument '${key}' (not in ${schema.source} of @cdktf/provider-aws ${providerPackageVersion()})`,
      );
      continue;
    }
    checkValueShape(value, argument, address, joinPath(path, key), sink);
  }
  for (const argument of schema.arguments.values()) {
    if (argument.required && (body[argument.name] === undefined || body[argument.name] === null) && !(argument.name in dynamicBlocks)) {
      sink.add(address, joinPath(path, argument.name), `missing required argument '${argument.name}'`);
    }
  }
}

function checkDynamicBlocks(value: JsonValue, schema: BlockSchema, address: string, path: string, sink: FindingSink): void {
  if (!isObject(value)) {
    sink.add(address, joinPath(path, 'dynamic'), 'dynamic must be an object keyed by block name');
    return;
  }
  for (const [name, dynamic] of Object.entries(value)) {
    const attribute = joinPath(joinPath(path, 'dynamic'), name);
    const argument = schema.arguments.get(name);
    if (!argument || argument.kind !== 'block' || !argument.block) {
      sink.add(address, attribute, `'${name}' is not a nested block of ${schema.source}; dynamic only generates blocks`);
      continue;
    }
    for (const body of blockBodies(dynamic)) {
      if (!isObject(body) || body.for_each === undefined || body.content === undefined) {
        sink.add(address, attribute, 'dynamic block needs for_each and content');
        continue;
      }
      for (const content of blockBodies(body.content)) {
        if (isObject(content)) checkBlockBody(content, argument.block, address, joinPath(attribute, 'content'), sink, new Set());
        else sink.add(address, joinPath(attribute, 'content'), 'content must be an object');
      }
    }
  }
}

function isExpression(value: JsonValue): boolean {
  return typeof value === 'string' && hasTemplateSequence(value);
}

function checkValueShape(value: JsonValue, argument: ArgumentSchema, address: string, path: string, sink: FindingSink): void {
  if (value === null) return;
  switch (argument.kind) {
    case 'string':
    case 'number':
    case 'bool':
      if (typeof value === 'object')
        sink.add(
          address,
          path,
          `'${argument.name}' is a single ${argument.kind} attribute, got ${Array.isArray(value) ? 'a list' : 'an object/block'}`,
        );
      else if (typeof value === 'string' && !isExpression(value) && !convertsTo(value, argument.kind)) {
        sink.add(
          address,
          path,
          `'${argument.name}' is a ${argument.kind} attribute; '${value.slice(0, 40)}' does not convert to a ${argument.kind}`,
        );
      }
      return;
    case 'list':
      if (!Array.isArray(value) && !isExpression(value))
        sink.add(address, path, `'${argument.name}' is a list attribute, got ${describe(value)}`);
      return;
    case 'map':
      if (!isObject(value) && !isExpression(value))
        sink.add(address, path, `'${argument.name}' is a map attribute, got ${describe(value)}`);
      return;
    case 'block':
      checkNestedBlock(value, argument, address, path, sink);
      return;
    case 'any':
      return;
  }
}

function checkNestedBlock(value: JsonValue, argument: ArgumentSchema, address: string, path: string, sink: FindingSink): void {
  const bodies = blockBodies(value);
  if (!argument.multiple && bodies.length > 1) sink.add(address, path, `'${argument.name}' allows one block, got ${bodies.length}`);
  bodies.forEach((body, index) => {
    const bodyPath = Array.isArray(value) && argument.multiple ? joinPath(path, index) : path;
    if (isObject(body) && argument.block) checkBlockBody(body, argument.block, address, bodyPath, sink, new Set());
    else if (!isObject(body)) {
      sink.add(
        address,
        bodyPath,
        `'${argument.name}' is a nested block and needs an object, got ${describe(body)}${isExpression(body) ? ' (blocks cannot be set from an expression; use dynamic)' : ''}`,
      );
    }
  });
}

/** Terraform converts strings to numbers and bools only when they spell one. */
function convertsTo(text: string, kind: 'string' | 'number' | 'bool'): boolean {
  if (kind === 'number') return /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text);
  if (kind === 'bool') return text === 'true' || text === 'false';
  return true;
}

function describe(value: JsonValue): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function checkNamedBlocks(
  value: JsonValue | undefined,
  kind: string,
  allowedKeys: Set<string> | undefined,
  required: string[],
  sink: FindingSink,
): void {
  if (value === undefined) return;
  if (!isObject(value)) {
    sink.add(kind, '-', `${kind} must be an object keyed by name`);
    return;
  }
  for (const [name, bodyValue] of Object.entries(value)) {
    const address = `${kind}.${name}`;
    if (!NAME_PATTERN.test(name)) sink.add(address, '-', `invalid ${kind} name '${name}'`);
    for (const body of blockBodies(bodyValue)) {
      if (!isObject(body)) {
        sink.add(address, '-', `${kind} body must be an object`);
        continue;
      }
      for (const key of Object.keys(body)) {
        if (allowedKeys && key !== METADATA_KEY && !allowedKeys.has(key)) sink.add(address, key, `unknown ${kind} argument '${key}'`);
        if (!allowedKeys && key !== METADATA_KEY && !MODULE_META_ARGUMENTS.has(key) && !NAME_PATTERN.test(key))
          sink.add(address, key, `invalid module input name '${key}'`);
      }
      for (const key of required) {
        if (body[key] === undefined) sink.add(address, key, `missing required argument '${key}'`);
      }
      if (kind === 'output' && body.sensitive !== undefined && typeof body.sensitive !== 'boolean')
        sink.add(address, 'sensitive', 'sensitive must be a boolean');
      if (kind === 'variable' && body.type !== undefined && typeof body.type !== 'string')
        sink.add(address, 'type', 'type must be a type expression string');
    }
  }
}
