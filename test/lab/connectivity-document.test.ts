/**
 * The TestInternetConnectivity document's own shell commands, taken
 * from the SYNTHESIZED nat-test-pipeline stack (after Terraform's unescaping), run on private hosts
 * of the lab VPC against the lab's what-is-my-IP server, with the parameters supplied the way SSM
 * supplies them: each value first checked against the document's allowedPattern (SSM refuses
 * SendCommand otherwise), then handed over only as an `SSM_<name>` environment variable
 * (interpolationType ENV_VAR) to the script file that aws:runShellScript runs with `sh`.
 */
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { createLabVpc, expectBootSuccess, LAB_ADDRESSES, LabNode, LabVpc, requireRoot, teardownLabs } from './harness';
import { CommandResult } from './harness/shell';
import { ssmAccepts, synthesizedConnectivityDocument } from '../unit/support/connectivity-document';

const document = synthesizedConnectivityDocument();
/** The lab's what-is-my-IP server (plain-text caller IP), in place of checkip.amazonaws.com. */
const LAB_CHECK_URL = `http://${LAB_ADDRESSES.internetServerIp}:${LAB_ADDRESSES.internetHttpPort}/`;
const WRONG_IP = '203.0.113.99';

type Parameters = Partial<Record<'expectedIp' | 'checkUrl' | 'timeoutSeconds', string>>;
type DocumentRun = { refused: string[] } | { refused: []; result: CommandResult };

const scriptDirectory = mkdtempSync(join(tmpdir(), `conn-doc-${process.pid}-`));
const scriptFile = join(scriptDirectory, '_script.sh');
writeFileSync(scriptFile, document.script, { mode: 0o700 });

/**
 * Runs the document on a lab host as SSM would: parameter values (defaults filled in) must match
 * their allowedPattern, or the command is refused before anything runs.
 */
function runDocument(lab: LabVpc, node: LabNode, parameters: Parameters): DocumentRun {
  const values: Record<string, string> = {};
  const refused: string[] = [];
  for (const [name, parameter] of Object.entries(document.content.parameters)) {
    const value = parameters[name as keyof Parameters] ?? parameter.default;
    if (!ssmAccepts(parameter, value)) refused.push(name);
    values[name] = value;
  }
  if (refused.length > 0) return { refused };
  const env = Object.entries(values).map(([name, value]) => `SSM_${name}=${value}`);
  const timeoutSeconds = Number(values.timeoutSeconds);
  const result = lab.exec(node, ['env', '-i', `PATH=${process.env.PATH}`, ...env, 'sh', '-c', scriptFile], {
    check: false,
    // A guard against a hung check, well above the document's own timeout: reaching it fails the test.
    timeoutMs: (timeoutSeconds + 20) * 1000,
  });
  return { refused: [], result };
}

function ran(outcome: DocumentRun): CommandResult {
  if (!('result' in outcome)) throw new Error(`SSM would refuse the parameters: ${outcome.refused.join(', ')}`);
  return outcome.result;
}

/** The exit code plus output, so a failing expectation shows what the script said. */
function summary(result: CommandResult) {
  return { exit: result.code, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
}

beforeAll(requireRoot);
afterAll(() => rmSync(scriptDirectory, { recursive: true, force: true }));

describe('through a booted NAT (dual mode, as nat-example)', () => {
  let lab: LabVpc;
  beforeAll(async () => {
    lab = await createLabVpc({ mode: 'dual' });
    expectBootSuccess('connectivity document', lab.runBootScript());
  }, 120_000);
  afterAll(teardownLabs);

  test('expectedIp = the NAT public IP: exit 0 on every private host, observed IP printed', () => {
    for (const host of lab.privateHosts) {
      const result = ran(runDocument(lab, host.node, { expectedIp: lab.natPublicIp, checkUrl: LAB_CHECK_URL }));
      expect({ host: host.node, ...summary(result) }).toEqual({
        host: host.node,
        exit: 0,
        stdout: `observed IP: ${lab.natPublicIp}\nOK: egress leaves with the expected IP ${lab.natPublicIp}`,
        stderr: '',
      });
    }
  });

  test('a wrong expectedIp: exit 1, naming both addresses', () => {
    const result = ran(runDocument(lab, 'h2', { expectedIp: WRONG_IP, checkUrl: LAB_CHECK_URL }));
    expect(summary(result)).toEqual({
      exit: 1,
      stdout: `observed IP: ${lab.natPublicIp}`,
      stderr: `FAIL: egress leaves with ${lab.natPublicIp}, expected ${WRONG_IP}`,
    });
  });

  test('the empty expectedIp (the default) only reports the observed IP', () => {
    const result = ran(runDocument(lab, 'h1', { checkUrl: LAB_CHECK_URL }));
    expect(summary(result)).toEqual({
      exit: 0,
      stdout: `observed IP: ${lab.natPublicIp}\nOK: no expected IP given, egress works`,
      stderr: '',
    });
  });

  test('an expectedIp outside the allowedPattern is refused before anything runs', () => {
    for (const value of ['1.2.3.4; touch /tmp/x', '$(id)', '999.1.1.1', `${lab.natPublicIp} `]) {
      expect({ value, outcome: runDocument(lab, 'h1', { expectedIp: value, checkUrl: LAB_CHECK_URL }) }).toEqual({
        value,
        outcome: { refused: ['expectedIp'] },
      });
    }
  });

  test('a value that got past the pattern still reaches the shell only as data, never as code', () => {
    // Bypasses the pattern on purpose (as if SSM did not check it): the script compares, nothing runs.
    const marker = join(scriptDirectory, 'injected');
    const result = lab.exec(
      'h1',
      [
        'env',
        '-i',
        `PATH=${process.env.PATH}`,
        `SSM_expectedIp=$(touch ${marker})`,
        `SSM_checkUrl=${LAB_CHECK_URL}`,
        'SSM_timeoutSeconds=5',
        'sh',
        '-c',
        scriptFile,
      ],
      { check: false, timeoutMs: 25_000 },
    );
    expect(summary(result)).toEqual({
      exit: 1,
      stdout: `observed IP: ${lab.natPublicIp}`,
      stderr: `FAIL: egress leaves with ${lab.natPublicIp}, expected $(touch ${marker})`,
    });
    expect(existsSync(marker)).toBe(false);
  });

  test('without the SSM_* variables (an agent too old for ENV_VAR) the check fails and says why', () => {
    const result = lab.exec('h1', ['env', '-i', `PATH=${process.env.PATH}`, 'sh', '-c', scriptFile], { check: false });
    expect(summary(result)).toEqual({
      exit: 1,
      stdout: '',
      stderr:
        'FAIL: SSM_expectedIp, SSM_checkUrl or SSM_timeoutSeconds is not set: ENV_VAR interpolation needs SSM Agent 3.3.2746.0 or later',
    });
  });

  test('a host without any route out: exit 1 (no answer)', () => {
    lab.exec('h3', ['ip', 'route', 'del', 'default']);
    try {
      const result = ran(runDocument(lab, 'h3', { expectedIp: lab.natPublicIp, checkUrl: LAB_CHECK_URL, timeoutSeconds: '3' }));
      expect(summary(result)).toEqual({
        exit: 1,
        stdout: '',
        stderr: expect.stringContaining(`FAIL: no answer from ${LAB_CHECK_URL} within 3s`),
      });
    } finally {
      lab.exec('h3', ['ip', 'route', 'add', 'default', 'via', '10.8.3.1']);
    }
  });
});

describe('through a NAT that does not forward (boot script never ran)', () => {
  let lab: LabVpc;
  beforeAll(async () => {
    lab = await createLabVpc({ mode: 'dual' });
  }, 120_000);
  afterAll(teardownLabs);

  test("the route leads into a black hole: exit 1 by the document's own timeout, not killed", () => {
    const result = ran(runDocument(lab, 'h1', { expectedIp: LAB_ADDRESSES.natPublicIp, checkUrl: LAB_CHECK_URL, timeoutSeconds: '3' }));
    // code null would mean our guard had to kill it: the document's timeout did not bound it.
    expect(summary(result)).toEqual({
      exit: 1,
      stdout: '',
      stderr: expect.stringContaining(`FAIL: no answer from ${LAB_CHECK_URL} within 3s`),
    });
    expect(result.stderr).toMatch(/curl: \(28\)/); // 28 = operation timed out: the packets went nowhere
  });
});
