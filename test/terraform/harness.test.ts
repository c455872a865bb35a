/**
 * The real-Terraform harness itself, on the two ways a run used to hang:
 * - the emulator stalled once its request log filled a pipe this process did not drain while it
 *   was blocked in spawnSync (a `terraform destroy` that never ended);
 * - an API that stops answering held Terraform, and the test, until the job limit.
 */
import { spawnSync } from 'child_process';
import { readdirSync, readlinkSync } from 'fs';
import { createServer, Server } from 'net';
import { MotoServer, startMoto } from '../support/moto';
import { emulatorProviderSettings, TerraformWorkspace } from '../support/terraform';

jest.setTimeout(300_000);

describe('moto server', () => {
  let moto: MotoServer;
  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(async () => {
    await moto?.stop();
  });

  test('GIVEN this process blocked in spawnSync WHEN a client sends 2,000 requests (well over 64 KiB of request log) THEN the server answers them all', () => {
    const client = `
import http.client, sys
connection = http.client.HTTPConnection("127.0.0.1", ${moto.port}, timeout=10)
for i in range(2000):
    connection.request("GET", "/moto-api/")
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        sys.exit("request %d: HTTP %d" % (i, response.status))
print("answered 2000")
`;
    const result = spawnSync('python3', ['-c', client], { encoding: 'utf8', timeout: 120_000 });
    expect({
      status: result.status,
      stdout: result.stdout.trim(),
      stderr: result.stderr.slice(-500),
      error: result.error?.message,
    }).toEqual({
      status: 0,
      stdout: 'answered 2000',
      stderr: '',
      error: undefined,
    });
    expect(moto.log(100_000).length).toBeGreaterThan(64 * 1024);
  });
});

describe('bounded Terraform runs', () => {
  let silent: Server;
  let workspace: TerraformWorkspace;

  beforeAll(async () => {
    // An API that accepts connections and never answers.
    silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const port = (silent.address() as { port: number }).port;
    workspace = new TerraformWorkspace('silent-api').write('main.tf.json', {
      terraform: { required_providers: { aws: { source: 'hashicorp/aws' } } },
      provider: { aws: [{ ...emulatorProviderSettings(`http://127.0.0.1:${port}`), max_retries: 0 }] },
      data: { aws_vpcs: { all: {} } },
    });
    workspace.init();
  });

  afterAll(() => {
    workspace?.remove();
    silent?.close();
  });

  test('GIVEN an API that never answers WHEN terraform plan runs with a 20 s limit THEN it is stopped with its provider and fails naming the command and the limit', () => {
    const started = Date.now();
    expect(() => workspace.run(['plan', '-input=false', '-no-color'], { timeoutMs: 20_000 })).toThrow(
      /^terraform plan -input=false -no-color did not finish within 20 s in \S+ and was stopped \(with its provider processes\)/,
    );
    // `timeout` sends TERM at 20 s and KILL 20 s later at the latest.
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(processesWorkingIn(workspace.dir)).toEqual([]);
  });
});

/** Processes (Terraform, its provider plugins, `timeout`) whose working directory is `dir`. */
function processesWorkingIn(dir: string): string[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readlinkSync(`/proc/${pid}/cwd`) === dir;
      } catch {
        return false; // gone, or not ours to read
      }
    });
}
