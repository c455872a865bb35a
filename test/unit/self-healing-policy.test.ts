/**
 * The IAM of a self-healing NAT, evaluated as AWS would: the policies of a synthesized
 * self-healing NatInstance (dual and single mode) are evaluated by the real `terraform console`
 * (data sources and resource IDs replaced by concrete values), then every request is decided by
 * an IAM policy evaluator (`@cloud-copilot/iam-simulate`). Allowed on the NAT's own Elastic IP,
 * forwarding interface, instances, interfaces and route tables; denied on any other — each denial
 * paired with a control (the same request allowed by `ec2:*` on `*`), so it means "out of scope".
 */
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { SELF_HEALING_TAG_KEY } from '../../modules/iam';
import { NatInstance, NatMode } from '../../modules/nat';
import { synthesize, TfBlock } from './support/synth';
import { evaluateTerraformString, TerraformValues } from './support/terraform-console';
import { natOnExampleNetwork } from './support/example-nat';

const PARTITION = 'aws';
const REGION = 'eu-central-1';
const ACCOUNT = '111122223333';
const OWN_EIP = 'eipalloc-0a1b2c3d4e5f60001';
const OWN_ENI = 'eni-0a1b2c3d4e5f60001';
const OWN_TABLES = ['rtb-0a1b2c3d4e5f60001', 'rtb-0a1b2c3d4e5f60002'];
const NAME = 'edge';

type PolicyDocument = { Version: string; Statement: Array<Record<string, any>> };

const arn = (resource: string, account = ACCOUNT) => `arn:${PARTITION}:ec2:${REGION}:${account}:${resource}`;

/** Every NAT policy of a synthesized self-healing NatInstance, as Terraform applies it, keyed by policy name. */
function appliedPolicies(mode: NatMode): Record<string, PolicyDocument> {
  const synth = synthesize((stack) => natOnExampleNetwork(stack, { name: NAME, selfHealing: true, mode }).nat);
  const eip = synth.only('aws_eip').name;
  const tables = Object.keys(synth.resources('aws_route_table')).filter((name) => name.includes('private'));
  expect(tables).toHaveLength(OWN_TABLES.length);
  const values: TerraformValues = {
    substitutions: [
      [/data\.aws_partition\.[\w-]+\.partition/, PARTITION],
      [/data\.aws_region\.[\w-]+\.id/, REGION],
      [/data\.aws_caller_identity\.[\w-]+\.account_id/, ACCOUNT],
      [new RegExp(`aws_eip\\.${eip}\\.allocation_id`), OWN_EIP],
      [/aws_network_interface\.[\w-]+\.id/, OWN_ENI],
      ...tables.map((table, i) => [new RegExp(`aws_route_table\\.${table}\\.id`), OWN_TABLES[i]] as const),
    ],
  };
  // The metrics policy, on the same role, has its own test (metrics-policy.test.ts).
  const policies = (Object.values(synth.resources('aws_iam_policy')) as TfBlock[]).filter(
    (policy) => !String(policy.name).endsWith('-metrics'),
  );
  return Object.fromEntries(policies.map((policy) => [policy.name, JSON.parse(evaluateTerraformString(policy.policy, values))]));
}

interface Request {
  readonly action: string;
  readonly resource: string;
  /** Tags of the resource (`aws:ResourceTag/<key>`). */
  readonly tags?: Record<string, string>;
  readonly account?: string;
}

async function decide(policies: PolicyDocument[], request: Request): Promise<string> {
  const account = request.account ?? ACCOUNT;
  const simulation: Simulation = {
    identityPolicies: policies.map((policy, i) => ({ name: `policy-${i}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    request: {
      principal: `arn:${PARTITION}:iam::${account}:role/${NAME}`,
      action: request.action,
      resource: { resource: request.resource, accountId: account },
      contextVariables: Object.fromEntries(Object.entries(request.tags ?? {}).map(([key, value]) => [`aws:ResourceTag/${key}`, value])),
    },
  };
  const response = await runSimulation(simulation, {});
  if (response.resultType === 'error')
    throw new Error(`the simulator rejected ${JSON.stringify(request)}: ${JSON.stringify(response.errors)}`);
  return response.overallResult;
}

const ALLOW_ALL_EC2: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ec2:*', Resource: '*' }] };
const OWN = { [SELF_HEALING_TAG_KEY]: NAME };
const OTHER_NAT = { [SELF_HEALING_TAG_KEY]: 'another-nat' };

describe.each(['dual', 'single'] as const)('a self-healing NAT in %s mode', (mode) => {
  let policies: PolicyDocument[];
  beforeAll(() => {
    const byName = appliedPolicies(mode);
    expect(Object.keys(byName).sort()).toEqual([`${NAME}-route-claim`, `${NAME}-self-healing`]);
    policies = Object.values(byName);
  });

  const allowed = async (request: Request) =>
    expect({ request, decision: await decide(policies, request) }).toEqual({ request, decision: 'Allowed' });
  const outOfScope = async (request: Request) => {
    expect({ request, control: await decide([ALLOW_ALL_EC2], request) }).toEqual({ request, control: 'Allowed' });
    expect({ request, decision: await decide(policies, request) }).toEqual({ request, decision: 'ImplicitlyDenied' });
  };

  it('allows associating its own Elastic IP with its own interfaces, nothing else', async () => {
    await allowed({ action: 'ec2:AssociateAddress', resource: arn(`elastic-ip/${OWN_EIP}`) });
    await allowed({ action: 'ec2:AssociateAddress', resource: arn('network-interface/eni-0000000000000aaaa'), tags: OWN });
    await outOfScope({ action: 'ec2:AssociateAddress', resource: arn('elastic-ip/eipalloc-0ffffffffffff9999') });
    await outOfScope({ action: 'ec2:AssociateAddress', resource: arn('network-interface/eni-0000000000000aaaa'), tags: OTHER_NAT });
    await outOfScope({ action: 'ec2:AssociateAddress', resource: arn('network-interface/eni-0000000000000aaaa') });
    await outOfScope({ action: 'ec2:AssociateAddress', resource: arn('instance/i-0123456789abcdef0'), tags: OWN });
    await outOfScope({ action: 'ec2:DisassociateAddress', resource: arn(`elastic-ip/${OWN_EIP}`) });
    await outOfScope({ action: 'ec2:ReleaseAddress', resource: arn(`elastic-ip/${OWN_EIP}`) });
  });

  it('allows claiming exactly its own route tables', async () => {
    for (const table of OWN_TABLES) await allowed({ action: 'ec2:ReplaceRoute', resource: arn(`route-table/${table}`) });
    await outOfScope({ action: 'ec2:ReplaceRoute', resource: arn('route-table/rtb-0ffffffffffff9999') });
    await outOfScope({ action: 'ec2:DeleteRoute', resource: arn(`route-table/${OWN_TABLES[0]}`) });
  });

  it('allows only the reads it needs on "*"', async () => {
    await allowed({ action: 'ec2:DescribeNetworkInterfaces', resource: '*' });
    await allowed({ action: 'ec2:DescribeRouteTables', resource: '*' });
    await outOfScope({ action: 'ec2:DescribeInstances', resource: '*' });
  });

  it('grants nothing on resources of another account, even with its own tag', async () => {
    const other = '444455556666';
    await outOfScope({ action: 'ec2:AssociateAddress', resource: arn(`elastic-ip/${OWN_EIP}`, other), account: other });
    await outOfScope({
      action: 'ec2:AssociateAddress',
      resource: arn('network-interface/eni-0000000000000aaaa', other),
      tags: OWN,
      account: other,
    });
  });

  if (mode === 'dual') {
    it('allows attaching exactly its static forwarding interface to its own instances', async () => {
      await allowed({ action: 'ec2:AttachNetworkInterface', resource: arn(`network-interface/${OWN_ENI}`) });
      await allowed({ action: 'ec2:AttachNetworkInterface', resource: arn('instance/i-0123456789abcdef0'), tags: OWN });
      await outOfScope({ action: 'ec2:AttachNetworkInterface', resource: arn('network-interface/eni-0ffffffffffff9999') });
      await outOfScope({ action: 'ec2:AttachNetworkInterface', resource: arn('instance/i-0123456789abcdef0'), tags: OTHER_NAT });
      await outOfScope({ action: 'ec2:AttachNetworkInterface', resource: arn('instance/i-0123456789abcdef0') });
      await outOfScope({ action: 'ec2:DetachNetworkInterface', resource: arn(`network-interface/${OWN_ENI}`) });
    });

    it('may not change any interface attribute (the static interface is created with its check off)', async () => {
      await outOfScope({ action: 'ec2:ModifyNetworkInterfaceAttribute', resource: arn(`network-interface/${OWN_ENI}`) });
      await outOfScope({
        action: 'ec2:ModifyNetworkInterfaceAttribute',
        resource: arn('network-interface/eni-0000000000000aaaa'),
        tags: OWN,
      });
    });
  } else {
    it('may change the attributes of its own interfaces only (the source/dest check a launch template cannot set), and attaches nothing', async () => {
      await allowed({ action: 'ec2:ModifyNetworkInterfaceAttribute', resource: arn('network-interface/eni-0000000000000aaaa'), tags: OWN });
      await outOfScope({
        action: 'ec2:ModifyNetworkInterfaceAttribute',
        resource: arn('network-interface/eni-0000000000000aaaa'),
        tags: OTHER_NAT,
      });
      await outOfScope({ action: 'ec2:ModifyNetworkInterfaceAttribute', resource: arn('network-interface/eni-0000000000000aaaa') });
      await outOfScope({ action: 'ec2:AttachNetworkInterface', resource: arn(`network-interface/${OWN_ENI}`) });
      await outOfScope({ action: 'ec2:ModifyInstanceAttribute', resource: arn('instance/i-0123456789abcdef0'), tags: OWN });
    });
  }

  it('grants no action outside route claim and self-healing', () => {
    const actions = new Set(
      policies.flatMap((policy) =>
        policy.Statement.flatMap((statement) => {
          expect(statement.Effect).toBe('Allow');
          expect(statement).not.toHaveProperty('NotAction');
          expect(statement).not.toHaveProperty('NotResource');
          return [statement.Action].flat() as string[];
        }),
      ),
    );
    const expected = [
      'ec2:AssociateAddress',
      'ec2:CreateRoute',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeRouteTables',
      'ec2:ReplaceRoute',
    ];
    expected.push(mode === 'dual' ? 'ec2:AttachNetworkInterface' : 'ec2:ModifyNetworkInterfaceAttribute');
    expect([...actions].sort()).toEqual(expected.sort());
  });
});

test('the policies hang on the role the NAT creates', () => {
  const synth = synthesize((stack) => natOnExampleNetwork(stack, { name: NAME, selfHealing: true }).nat);
  const built = synth.built as NatInstance;
  const role = synth.only('aws_iam_role').name;
  const attached = Object.values(synth.resources('aws_iam_role_policy_attachment')).filter(
    (a) => a.role === synth.ref('aws_iam_role', role, 'name'),
  );
  expect(attached.map((a) => a.policy_arn)).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/aws_iam_policy\.[\w-]*self-healing/),
      expect.stringMatching(/aws_iam_policy\.[\w-]*route-claim/),
    ]),
  );
  expect(built.selfHealingPolicy?.attachment).toBeDefined();
});
