/**
 * The metrics publisher in the network-namespace lab: the script and its settings come from the
 * synthesized user data (as on the instance), it runs in the NAT namespace with the real AWS CLI,
 * asks an IMDSv2 double for its region, and publishes through the NAT's public interface, the
 * internet gateway and the lab internet to the emulated CloudWatch (moto, serving at the internet
 * server's address), where the data points are read back.
 */
import { createLabVpc, expectBootSuccess, LAB_ADDRESSES, LabVpc, requireRoot, run, teardownLabs } from './harness';
import { AwsDoubles } from './doubles/aws-doubles';
import { MotoServer, MOTO_REGION, startMoto } from '../support/moto';
import { METRICS_NAMESPACE, METRICS_SCRIPT_PATH } from '../../modules/nat/metrics-settings';

jest.setTimeout(240_000);

const NAT_NAME = 'lab-nat';

let lab: LabVpc;
let moto: MotoServer;
let doubles: AwsDoubles;

beforeAll(async () => {
  requireRoot();
  lab = await createLabVpc({
    mode: 'single',
    // The probe fetches the lab internet's what-is-my-IP page through the public interface.
    natProps: { name: NAT_NAME, egressProbeUrl: `http://${LAB_ADDRESSES.internetServerIp}:${LAB_ADDRESSES.internetHttpPort}/` },
  });
  expectBootSuccess('metrics publisher', lab.runBootScript());
  moto = await startMoto({ namespace: { name: lab.namespace('internet'), address: LAB_ADDRESSES.internetServerIp } });
  // Instance metadata as EC2 gives it (the publisher asks only for the region); no EC2 calls expected.
  doubles = await AwsDoubles.start({
    namespace: lab.namespace('nat'),
    instanceId: 'i-0123456789abcdef0',
    region: MOTO_REGION,
    interfaces: { '0a:00:00:00:00:00': 'eni-0123456789abcdef0' },
    routeTables: {},
  });
});

afterAll(async () => {
  doubles?.stop();
  await moto?.stop();
  teardownLabs();
});

/** One run of the publisher, as its systemd service runs it. */
function publish(): ReturnType<typeof run> {
  const environment = { ...doubles.scriptEnvironment(), AWS_ENDPOINT_URL_CLOUDWATCH: moto.endpoint };
  return run(['env', ...Object.entries(environment).map(([key, value]) => `${key}=${value}`), ...lab.natCommand([METRICS_SCRIPT_PATH])], {
    timeoutMs: 60_000,
    check: false,
  });
}

/** The AWS CLI against the emulated CloudWatch, from the lab internet (where it serves). */
function cloudwatch(...args: string[]): any {
  const environment = Object.entries({ ...moto.clientEnv, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' }).map(
    ([key, value]) => `${key}=${value}`,
  );
  const result = lab.exec(
    'internet',
    ['env', ...environment, 'aws', 'cloudwatch', ...args, '--endpoint-url', moto.endpoint, '--output', 'json'],
    { timeoutMs: 60_000 },
  );
  return JSON.parse(result.stdout);
}

/** Minimum, maximum and count of one metric's data points over the last 10 minutes. */
function statistics(metric: string): { min: number; max: number; count: number } {
  const now = Math.floor(Date.now() / 1000);
  const query = (stat: string) => ({
    Id: stat.toLowerCase(),
    MetricStat: {
      Metric: { Namespace: METRICS_NAMESPACE, MetricName: metric, Dimensions: [{ Name: 'NatName', Value: NAT_NAME }] },
      Period: 600,
      Stat: stat,
    },
  });
  const answer = cloudwatch(
    'get-metric-data',
    '--start-time',
    String(now - 600),
    '--end-time',
    String(now + 60),
    '--metric-data-queries',
    JSON.stringify(['Minimum', 'Maximum', 'SampleCount'].map(query)),
  ) as { MetricDataResults: Array<{ Id: string; Values: number[] }> };
  // The window may span two periods: each statistic is combined over them as its own kind.
  const values = (id: string) => answer.MetricDataResults.find((result) => result.Id === id)?.Values ?? [];
  return {
    min: Math.min(...values('minimum')),
    max: Math.max(...values('maximum')),
    count: values('samplecount').reduce((a, b) => a + b, 0),
  };
}

test('GIVEN a booted NAT WHEN the publisher runs THEN CloudWatch holds its two metrics under NatName, egress probe 1', () => {
  const result = publish();
  expect({ exit: result.code, stderr: result.stderr }).toEqual({ exit: 0, stderr: '' });
  expect(result.stdout).toMatch(
    new RegExp(
      `^nat-metrics: published to ${METRICS_NAMESPACE} \\(NatName=${NAT_NAME}, ${MOTO_REGION}\\): EgressProbe=1 ConntrackUsePercent=\\d+\\.\\d{4}$`,
      'm',
    ),
  );

  const listed = cloudwatch('list-metrics', '--namespace', METRICS_NAMESPACE) as {
    Metrics: Array<{ MetricName: string; Dimensions: Array<{ Name: string; Value: string }> }>;
  };
  expect(listed.Metrics.map((metric) => metric.MetricName).sort()).toEqual(['ConntrackUsePercent', 'EgressProbe']);
  for (const metric of listed.Metrics) expect(metric.Dimensions).toEqual([{ Name: 'NatName', Value: NAT_NAME }]);
  expect(statistics('EgressProbe')).toEqual({ min: 1, max: 1, count: 1 });
  const conntrack = statistics('ConntrackUsePercent');
  expect(conntrack.count).toBe(1);
  expect(conntrack.min).toBeGreaterThanOrEqual(0);
  expect(conntrack.max).toBeLessThan(100);
  // The region came from instance metadata (IMDSv2: a token first).
  expect(doubles.imdsCalls().map((call) => [call.method, call.path, call.token])).toEqual([
    ['PUT', '/latest/api/token', false],
    ['GET', '/latest/meta-data/placement/region', true],
  ]);
});

test('GIVEN the NAT lost its ruleset WHEN the publisher runs THEN it publishes egress probe 0, saying why', () => {
  lab.exec('nat', ['nft', 'delete', 'table', 'ip', 'nat_instance']);
  const result = publish();
  expect(result.code).toBe(0);
  expect(result.stderr).toContain('nat-metrics: egress probe: table ip nat_instance has no translation loaded');
  expect(result.stdout).toMatch(/EgressProbe=0 ConntrackUsePercent=\d+\.\d{4}$/m);
  expect(statistics('EgressProbe')).toEqual({ min: 0, max: 1, count: 2 });
});

test('GIVEN the ruleset back but the probe target unreachable WHEN the publisher runs THEN the probe fails on its own (control: the ruleset alone is not the probe)', () => {
  expectBootSuccess('metrics publisher, reboot of the ruleset', lab.runBootScript());
  lab.exec('igw', ['ip', 'route', 'add', 'blackhole', `${LAB_ADDRESSES.internetServerIp}/32`]);
  try {
    const result = publish();
    // CloudWatch sits at the same address: the publication fails too, and says so in one line.
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/nat-metrics: egress probe: http:\/\/198\.51\.100\.10:80\/: curl: \(\d+\)/);
    expect(result.stderr.trim().split('\n').pop()).toMatch(/^nat-metrics: FAILED: CloudWatch refused the metrics: /);
  } finally {
    lab.exec('igw', ['ip', 'route', 'del', 'blackhole', `${LAB_ADDRESSES.internetServerIp}/32`]);
  }
  expect(publish().stdout).toMatch(/EgressProbe=1 /);
});
