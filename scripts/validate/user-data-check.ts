import { spawn, spawnSync } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { gunzipSync, gzipSync } from 'zlib';
import { parse as parseYaml } from 'yaml';
import { FindingSink } from './finding';
import { renderTemplateWithSamples } from './template-render';
import { hasTemplateSequence, isObject, JsonValue } from './terraform-json';

/**
 * The user data of every instance and launch template, evaluated as Terraform would (see
 * template-render.ts), must pass `cloud-init schema`, and every shell script it writes must pass
 * `shellcheck`. Both tools run for real; a missing tool is a finding, never a silent skip.
 */

/** Resource types with user data, and whether the attribute holds base64. */
const USER_DATA_ATTRIBUTES: Record<string, { attribute: string; base64: boolean }[]> = {
  aws_instance: [
    { attribute: 'user_data', base64: false },
    { attribute: 'user_data_base64', base64: true },
  ],
  aws_spot_instance_request: [
    { attribute: 'user_data', base64: false },
    { attribute: 'user_data_base64', base64: true },
  ],
  aws_launch_template: [{ attribute: 'user_data', base64: true }],
};

interface UserData {
  readonly address: string;
  readonly attribute: string;
  readonly text: string;
}

/** `${base64encode("…")}` / `${base64gzip("…")}` wrapping a literal HCL string, as cdktf's Fn.base64encode renders it. */
function unwrapBase64Function(value: string): string | undefined {
  const match = /^\$\{base64(?:encode|gzip)\(("(?:[^"\\]|\\.)*")\)\}$/s.exec(value);
  if (!match) return undefined;
  try {
    return JSON.parse(match[1].replace(/\\U([0-9A-Fa-f]{8})/g, (_, hex) => String.fromCodePoint(parseInt(hex, 16))));
  } catch {
    return undefined;
  }
}

/** `${base64gzip(local.x)}` / `${base64encode(local.x)}`: the document lives in a local (how NatInstance ships it). */
const ENCODED_LOCAL = /^\$\{base64(gzip|encode)\(local\.([\w-]+)\)\}$/;

/** EC2 refuses user data over 16 KB (counted before its base64 encoding). */
export const EC2_USER_DATA_LIMIT = 16384;

/** Decoded, evaluated user data, or a reason it cannot be evaluated offline; `sentBytes` is what EC2 receives. */
function evaluateUserData(
  value: string,
  base64: boolean,
  locals: Record<string, JsonValue>,
): { text?: string; sentBytes?: number; problem?: string } {
  if (!base64) {
    const text = renderTemplateWithSamples(value);
    return { text, sentBytes: Buffer.byteLength(text) };
  }
  const local = ENCODED_LOCAL.exec(value);
  if (local) {
    const template = locals[local[2]];
    if (typeof template !== 'string')
      return { problem: `user data refers to local.${local[2]}, which is not a string local of this stack` };
    const text = renderTemplateWithSamples(template);
    // Node's gzip stands in for Terraform's: the sizes differ by a few bytes at most.
    return { text, sentBytes: local[1] === 'gzip' ? gzipSync(text).length : Buffer.byteLength(text) };
  }
  const wrapped = unwrapBase64Function(value);
  if (wrapped !== undefined) return { text: renderTemplateWithSamples(wrapped) };
  if (hasTemplateSequence(value))
    return {
      problem: 'base64 user data is an expression the validator cannot evaluate offline (use base64encode("…") of a literal template)',
    };
  const bytes = Buffer.from(value.replace(/\$\$\{/g, '${'), 'base64');
  const text = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
  return { text, sentBytes: bytes.length };
}

export function collectUserData(doc: JsonValue, sink: FindingSink): UserData[] {
  const found: UserData[] = [];
  if (!isObject(doc) || !isObject(doc.resource)) return found;
  for (const [type, attributes] of Object.entries(USER_DATA_ATTRIBUTES)) {
    const instances = doc.resource[type];
    if (!isObject(instances)) continue;
    for (const [name, body] of Object.entries(instances)) {
      if (!isObject(body)) continue;
      for (const { attribute, base64 } of attributes) {
        const value = body[attribute];
        if (typeof value !== 'string') continue;
        const address = `${type}.${name}`;
        const { text, sentBytes, problem } = evaluateUserData(value, base64, isObject(doc.locals) ? doc.locals : {});
        if (problem) sink.add(address, attribute, problem);
        if (sentBytes !== undefined && sentBytes > EC2_USER_DATA_LIMIT) {
          sink.add(
            address,
            attribute,
            `user data is ${sentBytes} bytes as EC2 receives it; EC2 accepts at most ${EC2_USER_DATA_LIMIT} (compress it: base64gzip)`,
          );
        }
        if (text !== undefined) found.push({ address, attribute, text });
      }
    }
  }
  return found;
}

const toolProblems = new Map<string, string | undefined>();

/** Why a tool cannot run (probed once per process), or undefined when it is installed. */
function requireTool(name: string, versionArgs: string[]): string | undefined {
  if (!toolProblems.has(name)) {
    const probe = spawnSync(name, versionArgs, { encoding: 'utf8' });
    toolProblems.set(
      name,
      probe.error ? `${name} is not installed (needed to check user data; see scripts/install-test-host.sh)` : undefined,
    );
  }
  return toolProblems.get(name);
}

interface ToolResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a tool asynchronously so the checks of several documents overlap. */
function runTool(command: string, args: string[], input?: string): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** Runs `cloud-init schema` on the document; returns its error text, or undefined when valid. */
export async function cloudInitSchemaErrors(document: string, workDir: string): Promise<string | undefined> {
  mkdirSync(workDir, { recursive: true });
  const file = join(workDir, 'user-data.yaml');
  writeFileSync(file, document);
  const result = await runTool('cloud-init', ['schema', '--config-file', file]);
  if (result.status === 0) return undefined;
  const output = `${result.stdout}\n${result.stderr}`
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && line !== 'Error:' && !/^Cloud config schema deprecations:\s*$/.test(line))
    .join(' ');
  return output || `cloud-init schema exited ${result.status}`;
}

/** Runs shellcheck on a script; returns one message per problem (`line N: … [SCxxxx]`). */
export async function shellcheckProblems(script: string): Promise<string[]> {
  const result = await runTool('shellcheck', ['--format=gcc', '-'], script);
  if (result.status === 0) return [];
  const problems = result.stdout
    .split('\n')
    .map((line) => /^-:(\d+):(\d+): (.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `shellcheck line ${m[1]} col ${m[2]}: ${m[3]}`);
  return problems.length > 0 ? problems : [`shellcheck exited ${result.status}: ${result.stderr.trim()}`];
}

function isShellScript(content: string): boolean {
  const firstLine = content.split('\n', 1)[0];
  return /^#!\s*\S*\/(?:env\s+)?(?:bash|sh|dash|ksh)\b/.test(firstLine);
}

function decodeWriteFileContent(entry: Record<string, unknown>): string | undefined {
  if (typeof entry.content !== 'string') return undefined;
  const encoding = typeof entry.encoding === 'string' ? entry.encoding.toLowerCase() : '';
  if (encoding === '' || encoding === 'text/plain') return entry.content;
  const bytes = Buffer.from(entry.content, 'base64');
  return ['gz+b64', 'gzip+base64', 'gz+base64', 'gzip+b64'].includes(encoding)
    ? gunzipSync(bytes).toString('utf8')
    : bytes.toString('utf8');
}

/** The shell scripts a cloud-config writes: attribute label -> script text. */
function writtenScripts(userData: UserData): Map<string, string> {
  const scripts = new Map<string, string>();
  let config: unknown;
  try {
    config = parseYaml(userData.text);
  } catch {
    return scripts; // cloud-init schema reports the YAML error
  }
  const writeFiles = isObject(config as JsonValue) ? (config as Record<string, unknown>).write_files : undefined;
  if (!Array.isArray(writeFiles)) return scripts;
  writeFiles.forEach((entry, index) => {
    if (typeof entry !== 'object' || entry === null) return;
    const content = decodeWriteFileContent(entry as Record<string, unknown>);
    if (content === undefined || !isShellScript(content)) return;
    const path = String((entry as Record<string, unknown>).path ?? '?');
    scripts.set(`${userData.attribute}.write_files[${index}](${path})`, content);
  });
  return scripts;
}

async function checkCloudConfig(userData: UserData, sink: FindingSink, workDir: string): Promise<void> {
  const scripts = [...writtenScripts(userData)];
  const [schemaErrors, ...scriptProblems] = await Promise.all([
    cloudInitSchemaErrors(userData.text, workDir),
    ...scripts.map(([, script]) => shellcheckProblems(script)),
  ]);
  if (schemaErrors) sink.add(userData.address, userData.attribute, `cloud-init schema: ${schemaErrors}`);
  scripts.forEach(([label], index) => {
    for (const problem of scriptProblems[index]) sink.add(userData.address, label, problem);
  });
}

/** Checks the user data of every instance / launch template of a stack. */
export async function checkStackUserData(doc: JsonValue, sink: FindingSink): Promise<void> {
  const userDataList = collectUserData(doc, sink);
  if (userDataList.length === 0) return;
  const missing = [requireTool('cloud-init', ['--version']), requireTool('shellcheck', ['--version'])].filter((m): m is string => !!m);
  if (missing.length > 0) {
    for (const message of missing) sink.add(userDataList[0].address, userDataList[0].attribute, message);
    return;
  }
  const workDir = mkdtempSync(join(tmpdir(), 'validate-user-data-'));
  try {
    // Checked one after another so findings keep the document order; each check runs its tools in parallel.
    for (const [index, userData] of userDataList.entries()) {
      if (userData.text.startsWith('#cloud-config')) {
        await checkCloudConfig(userData, sink, join(workDir, String(index)));
      } else if (isShellScript(userData.text)) {
        for (const problem of await shellcheckProblems(userData.text)) sink.add(userData.address, userData.attribute, problem);
      } else {
        sink.add(
          userData.address,
          userData.attribute,
          'user data is neither a #cloud-config document nor a shell script; the validator cannot check it',
        );
      }
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
