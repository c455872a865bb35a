import { getExpressionAst } from '@cdktf/hcl2json';
import { StackDeclarations } from './declarations';
import { FindingSink } from './finding';
import { blockBodies, isObject, joinPath, JsonObject, JsonValue, METADATA_KEY } from './terraform-json';

/**
 * Every string Terraform evaluates is a template: each `${…}` / `%{…}` must parse, and every
 * reference in it must name something the stack declares. Strings are parsed with HashiCorp's HCL
 * parser (`@cdktf/hcl2json`, compiled to WebAssembly) wrapped in a heredoc, whose body is a template
 * with exactly the JSON-string semantics: no quote escaping, `$${` and `%%{` are literal.
 */

/** What names are in scope where a string is evaluated. */
export interface ExpressionScope {
  readonly address: string;
  readonly declarations: StackDeclarations;
  /** `each` is available (the block has for_each). */
  readonly each?: boolean;
  /** `count` is available (the block has count). */
  readonly count?: boolean;
  /** `self` is available (provisioner / connection). */
  readonly self?: boolean;
  /** Extra root names: dynamic-block iterators, validation's own variable. */
  readonly extraRoots?: ReadonlySet<string>;
}

interface AstNode {
  readonly type: string;
  readonly children?: AstNode[];
  readonly meta?: { traversal?: { type: string; segment: string }[]; keyVar?: string; valVar?: string };
}

const HEREDOC_MARKER = 'EOT_CDKTF_VALIDATE';
const FILENAME = 'expression.tf';

/** The heredoc form of a JSON string (the parser numbers error lines from the heredoc body). */
function asHeredoc(text: string): string {
  return `<<${HEREDOC_MARKER}\n${text}\n${HEREDOC_MARKER}\n`;
}

/** Turns the parser's error into `line N: <source line>: <reason>` relative to the string. */
function describeParseError(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const located = new RegExp(`${FILENAME.replace('.', '\\.')}:(\\d+),(\\d+)-\\d+: ([\\s\\S]*)$`).exec(message);
  if (!located) return `invalid Terraform expression: ${message.replace(/\s+/g, ' ').slice(-300)}`;
  const lines = text.split('\n');
  const line = Math.min(Math.max(Number(located[1]), 1), lines.length);
  const reason = located[3].replace(/\s+/g, ' ').trim();
  return `invalid Terraform template at line ${line} ('${lines[line - 1].trim().slice(0, 120)}'): ${reason}`;
}

/** Parses a template string; returns its AST or reports why it is not valid Terraform. */
export async function parseTemplate(text: string, sink: FindingSink, address: string, attribute: string): Promise<AstNode | undefined> {
  try {
    return ((await getExpressionAst(FILENAME, asHeredoc(text))) ?? undefined) as AstNode | undefined;
  } catch (error) {
    sink.add(address, attribute, describeParseError(error, text));
    return undefined;
  }
}

async function parseBareExpression(text: string, sink: FindingSink, address: string, attribute: string): Promise<AstNode | undefined> {
  try {
    return ((await getExpressionAst(FILENAME, text)) ?? undefined) as AstNode | undefined;
  } catch (error) {
    sink.add(address, attribute, describeParseError(error, text));
    return undefined;
  }
}

/** The name segments of a traversal up to the first index (`aws_instance.x[0].id` -> aws_instance, x). */
function traversalNames(node: AstNode): string[] {
  const parts: string[] = [];
  for (const part of node.meta?.traversal ?? []) {
    if (part.type !== 'nameTraversal') break;
    parts.push(part.segment);
  }
  return parts;
}

/** Why a reference is not in scope, or undefined when it is. */
function unresolvedReason(parts: string[], scope: ExpressionScope, localNames: ReadonlySet<string>): string | undefined {
  const [root, first, second] = parts;
  const d = scope.declarations;
  if (root === undefined || localNames.has(root) || scope.extraRoots?.has(root)) return undefined;
  switch (root) {
    case 'var':
      return first !== undefined && d.variables.has(first) ? undefined : `reference to undeclared variable 'var.${first ?? ''}'`;
    case 'local':
      return first !== undefined && d.locals.has(first) ? undefined : `reference to undeclared local value 'local.${first ?? ''}'`;
    case 'module':
      return first !== undefined && d.modules.has(first) ? undefined : `reference to undeclared module 'module.${first ?? ''}'`;
    case 'data':
      return d.dataSources.has(`${first}.${second}`)
        ? undefined
        : `reference to undeclared data source 'data.${first ?? ''}.${second ?? ''}'`;
    case 'each':
      return scope.each ? undefined : "'each' is only available in a block with for_each";
    case 'count':
      return scope.count ? undefined : "'count' is only available in a block with count";
    case 'self':
      return scope.self ? undefined : "'self' is only available in provisioner and connection blocks";
    case 'path':
    case 'terraform':
      return undefined;
    default:
      if (first !== undefined && d.resources.has(`${root}.${first}`)) return undefined;
      if (first === undefined || !d.resourceTypes.has(root)) {
        return `reference to undeclared '${parts.join('.')}' (if this is shell or another language, escape it as $\${…} / %%{…})`;
      }
      return `reference to undeclared resource '${root}.${first}'`;
  }
}

function checkReferences(
  node: AstNode,
  scope: ExpressionScope,
  sink: FindingSink,
  attribute: string,
  localNames: ReadonlySet<string>,
): void {
  if (node.type === 'scopeTraversal') {
    const parts = traversalNames(node);
    const reason = unresolvedReason(parts, scope, localNames);
    if (reason) sink.add(scope.address, attribute, reason);
    return;
  }
  let inner = localNames;
  if (node.type === 'for') {
    inner = new Set([...localNames, ...[node.meta?.keyVar, node.meta?.valVar].filter((v): v is string => !!v)]);
  }
  for (const child of node.children ?? []) checkReferences(child, scope, sink, attribute, inner);
}

/** Checks one string as Terraform evaluates it (a template). */
export async function checkTemplateString(text: string, scope: ExpressionScope, sink: FindingSink, attribute: string): Promise<void> {
  if (!text.includes('${') && !text.includes('%{')) return;
  const ast = await parseTemplate(text, sink, scope.address, attribute);
  if (ast) checkReferences(ast, scope, sink, attribute, new Set());
}

/** Checks a bare reference expression (`depends_on`, `replace_triggered_by` entries). */
async function checkBareReference(text: string, scope: ExpressionScope, sink: FindingSink, attribute: string): Promise<void> {
  const ast = await parseBareExpression(text, sink, scope.address, attribute);
  if (ast) checkReferences(ast, scope, sink, attribute, new Set());
}

/** Walks every string (values and object keys) under a value. */
async function checkValue(value: JsonValue, scope: ExpressionScope, sink: FindingSink, path: string): Promise<void> {
  if (typeof value === 'string') {
    await checkTemplateString(value, scope, sink, path);
  } else if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) await checkValue(item, scope, sink, joinPath(path, index));
  } else if (isObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (key === METADATA_KEY) continue;
      await checkTemplateString(key, scope, sink, joinPath(path, key));
      await checkValue(item, scope, sink, joinPath(path, key));
    }
  }
}

/** A resource / data / module body: meta-arguments that hold bare references, dynamic blocks, provisioners. */
async function checkBlockBody(body: JsonObject, scope: ExpressionScope, sink: FindingSink, path: string): Promise<void> {
  for (const [key, value] of Object.entries(body)) {
    const attribute = joinPath(path, key);
    if (key === METADATA_KEY || key === 'provider' || key === 'providers' || key === 'source') continue;
    if (key === 'depends_on' && Array.isArray(value)) {
      for (const [index, entry] of value.entries())
        if (typeof entry === 'string') await checkBareReference(entry, scope, sink, joinPath(attribute, index));
    } else if (key === 'lifecycle') {
      await checkLifecycle(value, scope, sink, attribute);
    } else if (key === 'dynamic' && isObject(value)) {
      await checkDynamic(value, scope, sink, attribute);
    } else if (key === 'provisioner' || key === 'connection') {
      await checkValue(value, { ...scope, self: true }, sink, attribute);
    } else {
      await checkValue(value, scope, sink, attribute);
    }
  }
}

async function checkLifecycle(value: JsonValue, scope: ExpressionScope, sink: FindingSink, path: string): Promise<void> {
  for (const lifecycle of blockBodies(value)) {
    if (!isObject(lifecycle)) continue;
    for (const [key, setting] of Object.entries(lifecycle)) {
      const attribute = joinPath(path, key);
      if (key === 'ignore_changes') continue; // attribute names, not expressions
      if (key === 'replace_triggered_by' && Array.isArray(setting)) {
        for (const [index, entry] of setting.entries())
          if (typeof entry === 'string') await checkBareReference(entry, scope, sink, joinPath(attribute, index));
      } else {
        await checkValue(setting, { ...scope, self: key === 'postcondition' || scope.self }, sink, attribute);
      }
    }
  }
}

async function checkDynamic(value: JsonObject, scope: ExpressionScope, sink: FindingSink, path: string): Promise<void> {
  for (const [name, dynamicValue] of Object.entries(value)) {
    for (const dynamic of blockBodies(dynamicValue)) {
      if (!isObject(dynamic)) continue;
      const attribute = joinPath(path, name);
      const iterator = typeof dynamic.iterator === 'string' ? dynamic.iterator : name;
      if (dynamic.for_each !== undefined) await checkValue(dynamic.for_each, scope, sink, joinPath(attribute, 'for_each'));
      if (dynamic.content !== undefined) {
        const inner = { ...scope, extraRoots: new Set([...(scope.extraRoots ?? []), iterator]) };
        for (const content of blockBodies(dynamic.content)) {
          if (isObject(content)) await checkBlockBody(content, inner, sink, joinPath(attribute, 'content'));
        }
      }
    }
  }
}

/** Checks every evaluated string of a stack. */
export async function checkStackExpressions(doc: JsonValue, declarations: StackDeclarations, sink: FindingSink): Promise<void> {
  if (!isObject(doc)) return;
  for (const mode of ['resource', 'data'] as const) {
    const section = doc[mode];
    if (!isObject(section)) continue;
    for (const [type, instances] of Object.entries(section)) {
      if (!isObject(instances)) continue;
      for (const [name, body] of Object.entries(instances)) {
        if (!isObject(body)) continue;
        const address = mode === 'data' ? `data.${type}.${name}` : `${type}.${name}`;
        const scope = { address, declarations, each: body.for_each !== undefined, count: body.count !== undefined };
        await checkBlockBody(body, scope, sink, '');
      }
    }
  }
  await checkNamed(doc.output, 'output', declarations, sink);
  await checkNamed(doc.module, 'module', declarations, sink);
  await checkVariables(doc.variable, declarations, sink);
  if (doc.locals !== undefined) await checkValue(doc.locals, { address: 'locals', declarations }, sink, '');
  if (isObject(doc.provider)) {
    for (const [name, configs] of Object.entries(doc.provider)) {
      for (const [index, config] of blockBodies(configs).entries()) {
        await checkValue(config, { address: `provider.${name}[${index}]`, declarations }, sink, '');
      }
    }
  }
}

async function checkNamed(section: JsonValue | undefined, kind: string, declarations: StackDeclarations, sink: FindingSink): Promise<void> {
  if (!isObject(section)) return;
  for (const [name, body] of Object.entries(section)) {
    for (const entry of blockBodies(body)) {
      if (isObject(entry)) await checkBlockBody(entry, { address: `${kind}.${name}`, declarations }, sink, '');
    }
  }
}

async function checkVariables(section: JsonValue | undefined, declarations: StackDeclarations, sink: FindingSink): Promise<void> {
  if (!isObject(section)) return;
  for (const [name, body] of Object.entries(section)) {
    if (!isObject(body)) continue;
    const address = `variable.${name}`;
    if (body.default !== undefined) {
      // A default is a constant: Terraform rejects references there.
      const noReferences: StackDeclarations = {
        resources: new Set(),
        dataSources: new Set(),
        variables: new Set(),
        locals: new Set(),
        modules: new Set(),
        resourceTypes: new Set(),
      };
      await checkValue(body.default, { address, declarations: noReferences }, sink, 'default');
    }
    if (body.validation !== undefined) {
      await checkValue(body.validation, { address, declarations }, sink, 'validation');
    }
  }
}
