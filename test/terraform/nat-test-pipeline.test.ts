/**
 * GIVEN nat-test-pipeline as `cdktf synth` writes it with an existing GitHub connection
 * (NAT_PIPELINE_CONNECTION_ARN: the emulator has no CodeConnections, and users who already have
 * a connection take this path), byte for byte, plus the emulator's provider settings
 * WHEN the real Terraform CLI with the real AWS provider validates and plans all of it, and
 * applies everything the emulator supports (all but the pipeline itself: EMULATOR LIMITATION
 * "CodePipeline read-back" in ./emulator-workarounds.ts) against moto
 * THEN the plan sources the pipeline through the given connection; the build project, buckets,
 * role policies, instance profile and SSM document exist as configured, read back through the
 * emulated APIs with the real AWS CLI; destroy removes them all.
 */
import { awsCli } from '../support/aws-cli';
import { MOTO_ACCOUNT_ID, MOTO_REGION, MotoServer, startMoto } from '../support/moto';
import { TerraformWorkspace } from '../support/terraform';
import { ALL_KINDS, destroy, Inventory, inventory, leftovers, stackWorkspace } from './emulated-deployment';
import { projectsKeptAfterDeleteByArn, supportedTargets } from './emulator-workarounds';
import { synthesizeStacks } from './synthesized-stacks';

jest.setTimeout(600_000);

const STACK = 'nat-test-pipeline';
const CONNECTION_ARN = `arn:aws:codeconnections:${MOTO_REGION}:${MOTO_ACCOUNT_ID}:connection/0a1b2c3d-4e5f-6789-abcd-ef0123456789`;

const stacks = synthesizeStacks({ pipeline: { connectionArn: CONNECTION_ARN } });
const json = stacks.json(STACK);
let moto: MotoServer;
let workspace: TerraformWorkspace;
let workarounds: string[];
let before: Inventory;
let destroyed = false;

beforeAll(async () => {
  moto = await startMoto();
  ({ workspace, workarounds } = stackWorkspace(STACK, stacks.directory(STACK), json, moto));
  before = inventory(moto, ALL_KINDS);
});

afterAll(async () => {
  try {
    if (workspace && !destroyed && workspace.stateList().length > 0) destroy(workspace, 300_000);
  } finally {
    workspace?.remove();
    await moto?.stop();
  }
});

const aws = <T = any>(...args: string[]): T => awsCli<T>(moto.clientEnv, args);

test('with an existing connection the stack creates none; the only emulator work-around is the CodeBuild source location', () => {
  expect(json.resource.aws_codestarconnections_connection).toBeUndefined();
  expect(workarounds).toEqual(['emulator_workaround_codebuild_location_override.tf.json']);
});

test('terraform init and validate', () => {
  workspace.init();
  const validate = JSON.parse(workspace.run(['validate', '-json'], { check: false }).stdout) as { valid: boolean; error_count: number };
  expect(validate).toMatchObject({ valid: true, error_count: 0 });
});

test('terraform plan creates every resource of the JSON; the pipeline’s Source stage uses the given connection', () => {
  const plan = workspace.run(['plan', '-input=false', '-no-color', '-out=full.tfplan', '-detailed-exitcode'], { check: false });
  expect({ code: plan.code, stderr: plan.stderr }).toEqual({ code: 2, stderr: '' });
  const shown = JSON.parse(workspace.run(['show', '-json', 'full.tfplan']).stdout);
  const planned = shown.resource_changes as Array<{ address: string; type: string; change: { actions: string[]; after: any } }>;
  const managed = Object.entries(json.resource as Record<string, Record<string, unknown>>).flatMap(([type, blocks]) =>
    Object.keys(blocks).map((name) => `${type}.${name}`),
  );
  expect(
    planned
      .filter((change) => change.change.actions.join() === 'create')
      .map((change) => change.address)
      .sort(),
  ).toEqual(managed.sort());
  expect(shown.planned_values.outputs['connection-arn'].value).toBe(CONNECTION_ARN);
  const pipeline = planned.find((change) => change.type === 'aws_codepipeline')!.change.after;
  expect(pipeline.stage[0].action[0].configuration).toMatchObject({
    ConnectionArn: CONNECTION_ARN,
    FullRepositoryId: 'your-github-org/cdktf-nat-instance',
    BranchName: 'main',
  });
});

test('terraform apply of everything the emulator supports (all resources but the pipeline) succeeds', () => {
  const targets = supportedTargets(json);
  expect(targets.length).toBe(
    Object.values(json.resource as Record<string, object>).reduce((n, blocks) => n + Object.keys(blocks).length, 0) - 1,
  );
  workspace.run(['plan', '-input=false', '-no-color', '-out=tfplan', ...targets]);
  const apply = workspace.run(['apply', '-input=false', '-no-color', 'tfplan'], { check: false });
  expect({ code: apply.code, stdout: apply.stdout }).toEqual({
    code: 0,
    stdout: expect.stringMatching(/Apply complete! Resources: \d+ added, 0 changed, 0 destroyed/),
  });
  expect(workspace.stateList().filter((address) => address.startsWith('aws_')).length).toBe(targets.length);
});

describe('read back through the emulated APIs', () => {
  let outputs: Record<string, any>;
  beforeAll(() => {
    outputs = workspace.outputs();
  });

  test('the pipeline role may use exactly the given connection; the e2e build project gets its settings', () => {
    const roles = aws('iam', 'list-roles', '--query', "Roles[?ends_with(RoleName, '-pipeline')].RoleName") as string[];
    expect(roles).toEqual(['nat-test-pipeline']);
    const policy = aws('iam', 'get-role-policy', '--role-name', 'nat-test-pipeline', '--policy-name', 'source-and-test').PolicyDocument;
    expect(policy.Statement.find((statement: any) => statement.Sid === 'UseTheGitHubConnection').Resource).toEqual([CONNECTION_ARN]);
    const [project] = aws('codebuild', 'batch-get-projects', '--names', outputs['codebuild-project']).projects;
    const variables = Object.fromEntries(project.environment.environmentVariables.map((v: any) => [v.name, v.value]));
    expect(variables).toMatchObject({ TESTING_SSM_ROLE: 'nat-test-instance', NAT_STATE_BUCKET: outputs['state-bucket'] });
    expect(project.source.type).toBe('CODEPIPELINE');
  });

  test('the state bucket is versioned, encrypted and closed to the public', () => {
    const bucket = outputs['state-bucket'];
    expect(aws('s3api', 'get-bucket-versioning', '--bucket', bucket)).toMatchObject({ Status: 'Enabled' });
    expect(
      aws('s3api', 'get-bucket-encryption', '--bucket', bucket).ServerSideEncryptionConfiguration.Rules[0]
        .ApplyServerSideEncryptionByDefault,
    ).toMatchObject({ SSEAlgorithm: 'AES256' });
    expect(aws('s3api', 'get-public-access-block', '--bucket', bucket).PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    });
  });

  test('the test instance profile and the connectivity document exist', () => {
    expect(
      aws('iam', 'get-instance-profile', '--instance-profile-name', 'nat-test-instance').InstanceProfile.Roles.map((r: any) => r.RoleName),
    ).toEqual(['nat-test-instance']);
    expect(aws('ssm', 'describe-document', '--name', 'TestInternetConnectivity').Document).toMatchObject({
      DocumentType: 'Command',
      Status: 'Active',
    });
  });
});

test('destroy removes everything the apply created', () => {
  expect(Object.keys(leftovers(moto, before, ALL_KINDS))).toEqual(
    expect.arrayContaining(['S3 buckets', 'CodeBuild projects', 'IAM roles', 'SSM documents']),
  );
  const output = destroy(workspace).stdout;
  destroyed = true;
  expect(workspace.stateList()).toEqual([]);
  // Only the project moto keeps after a delete by ARN (EMULATOR DIFFERENCE "CodeBuild delete by ARN"), which destroy did delete.
  expect(output).toMatch(/aws_codebuild_project\.\S+: Destruction complete/);
  expect(leftovers(moto, before, ALL_KINDS)).toEqual({ 'CodeBuild projects': projectsKeptAfterDeleteByArn(json) });
});
