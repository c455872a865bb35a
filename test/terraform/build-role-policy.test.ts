/**
 * GIVEN nat-example as the pipeline's build synthesizes it (TESTING_SSM_ROLE: an existing instance
 * profile; state in the S3 bucket under the build's key), byte for byte, and moto with IAM
 * enforcement on (INITIAL_NO_AUTH_ACTION_COUNT: the set-up calls pass unchecked, every later one
 * is authorized)
 * WHEN an IAM user holding only the build role's policy runs terraform init, apply and destroy
 * THEN no call is denied: the build role is enough for a real deployment and its removal.
 *
 * moto's enforcement evaluates a statement's actions only, not its Resource or Condition
 * elements: the user's policy is the build role's statements with Resource `*` and no Condition,
 * so this proves that no action is missing. The scoping by resource and tag is proven by the IAM
 * policy simulator tests (test/unit/test-pipeline-iam.test.ts).
 * Controls: calls outside the policy are denied to that user (so a missing action would fail the
 * run), and allowed to an administrator (so the denial is the policy's).
 * The state stays local (EMULATOR WORK-AROUND "S3 state under IAM enforcement"); the S3 backend's
 * calls on the state key are made by the same user with the AWS CLI.
 */
import { E2E_STATE_KEY_PREFIX, e2eBuildPolicyStatements } from '../../modules/test-pipeline';
import { natExampleConfigFromEnv } from '../../stacks/nat-example';
import { awsCli, awsCliResult } from '../support/aws-cli';
import { MOTO_ACCOUNT_ID, MOTO_REGION, MotoServer, startMoto } from '../support/moto';
import { emulatorProviderSettings, TerraformRunOptions, TerraformWorkspace } from '../support/terraform';
import { destroy, inventory, Inventory, leftovers, stackWorkspace } from './emulated-deployment';
import { localStateUnderIamEnforcement } from './emulator-workarounds';
import { synthesizeStacks } from './synthesized-stacks';

jest.setTimeout(900_000);

const STACK = 'nat-example';
const PROFILE = 'nat-test-instance';
const STATE_BUCKET = 'nat-test-state-emulated';
const STATE_KEY = `${E2E_STATE_KEY_PREFIX}build-1.tfstate`;
const BUILD_USER = 'nat-e2e-build';
const ADMIN_USER = 'emulator-admin';

/** The build role's policy with Resource `*` and no Condition: all moto can evaluate. */
function actionsOnlyPolicy(): object {
  const statements = e2eBuildPolicyStatements({
    partition: 'aws',
    region: MOTO_REGION,
    accountId: MOTO_ACCOUNT_ID,
    stackTag: { key: 'Stack', value: STACK },
    testInstanceTag: { key: 'Project', value: 'NAT-Test' },
    testInstanceRoleArn: `arn:aws:iam::${MOTO_ACCOUNT_ID}:role/${PROFILE}`,
    stateBucketArn: `arn:aws:s3:::${STATE_BUCKET}`,
    stateKeyPrefix: E2E_STATE_KEY_PREFIX,
    artifactBucketArn: 'arn:aws:s3:::nat-test-artifacts-emulated',
    logGroupArn: `arn:aws:logs:${MOTO_REGION}:${MOTO_ACCOUNT_ID}:log-group:/aws/codebuild/nat-test-e2e`,
    codeBuildProjectName: 'nat-test-e2e',
    connectivityDocumentArn: `arn:aws:ssm:${MOTO_REGION}:${MOTO_ACCOUNT_ID}:document/TestInternetConnectivity`,
  });
  return { Version: '2012-10-17', Statement: statements.map(({ Sid, Effect, Action }) => ({ Sid, Effect, Action, Resource: '*' })) };
}

interface Credentials {
  readonly AWS_ACCESS_KEY_ID: string;
  readonly AWS_SECRET_ACCESS_KEY: string;
}

/**
 * The set-up, as the calls that run before enforcement starts: moto lets exactly as many pass
 * unchecked. Each returns what later steps need.
 */
const SET_UP: Array<(env: Record<string, string>, keys: Record<string, Credentials>) => void> = [
  (env) => awsCli(env, ['iam', 'create-user', '--user-name', BUILD_USER]),
  (env, keys) => (keys.build = accessKeyOf(awsCli(env, ['iam', 'create-access-key', '--user-name', BUILD_USER]))),
  (env) =>
    awsCli(env, ['iam', 'create-policy', '--policy-name', 'e2e-build-actions', '--policy-document', JSON.stringify(actionsOnlyPolicy())]),
  (env) =>
    awsCli(env, [
      'iam',
      'attach-user-policy',
      '--user-name',
      BUILD_USER,
      '--policy-arn',
      `arn:aws:iam::${MOTO_ACCOUNT_ID}:policy/e2e-build-actions`,
    ]),
  (env) => awsCli(env, ['iam', 'create-user', '--user-name', ADMIN_USER]),
  (env, keys) => (keys.admin = accessKeyOf(awsCli(env, ['iam', 'create-access-key', '--user-name', ADMIN_USER]))),
  (env) =>
    awsCli(env, ['iam', 'attach-user-policy', '--user-name', ADMIN_USER, '--policy-arn', 'arn:aws:iam::aws:policy/AdministratorAccess']),
  // What the pipeline stack provides the build: the test instance profile and the state bucket.
  (env) =>
    awsCli(env, [
      'iam',
      'create-role',
      '--role-name',
      PROFILE,
      '--assume-role-policy-document',
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      }),
    ]),
  (env) =>
    awsCli(env, [
      'iam',
      'attach-role-policy',
      '--role-name',
      PROFILE,
      '--policy-arn',
      'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore',
    ]),
  (env) => awsCli(env, ['iam', 'create-instance-profile', '--instance-profile-name', PROFILE]),
  (env) => awsCli(env, ['iam', 'add-role-to-instance-profile', '--instance-profile-name', PROFILE, '--role-name', PROFILE]),
  (env) =>
    awsCli(env, ['s3api', 'create-bucket', '--bucket', STATE_BUCKET, '--create-bucket-configuration', `LocationConstraint=${MOTO_REGION}`]),
];

function accessKeyOf(answer: { AccessKey: { AccessKeyId: string; SecretAccessKey: string } }): Credentials {
  return { AWS_ACCESS_KEY_ID: answer.AccessKey.AccessKeyId, AWS_SECRET_ACCESS_KEY: answer.AccessKey.SecretAccessKey };
}

const stacks = synthesizeStacks({
  // As the pipeline's build synthesizes it (its environment, see e2e-build-project.ts).
  example: natExampleConfigFromEnv({
    AWS_REGION: MOTO_REGION,
    TESTING_SSM_ROLE: PROFILE,
    NAT_STATE_BUCKET: STATE_BUCKET,
    NAT_STATE_KEY: STATE_KEY,
  }),
});
const json = stacks.json(STACK);
let moto: MotoServer;
let workspace: TerraformWorkspace;
const keys: Record<string, Credentials> = {};
let asBuildUser: Record<string, string>;
let asAdmin: Record<string, string>;
let before: Inventory;
let destroyed = false;

beforeAll(async () => {
  moto = await startMoto({ env: { INITIAL_NO_AUTH_ACTION_COUNT: String(SET_UP.length) } });
  for (const step of SET_UP) step(moto.clientEnv, keys);
  // Session tokens belong to the test credentials only: the users sign with their keys alone.
  const withKeys = (credentials: Credentials) => ({ ...moto.clientEnv, AWS_SESSION_TOKEN: '', ...credentials });
  asBuildUser = withKeys(keys.build);
  asAdmin = withKeys(keys.admin);
  let workarounds: string[];
  ({ workspace, workarounds } = stackWorkspace(STACK, stacks.directory(STACK), json, moto));
  expect(workarounds).toEqual(['emulator_workaround_root_volume_size_override.tf.json']);
  const localState = localStateUnderIamEnforcement();
  workspace.write(localState.file, localState.content);
  // The provider signs as the build user (the override file's test credentials replaced by its keys).
  workspace.write('emulator_provider_override.tf.json', {
    provider: {
      aws: [
        {
          ...emulatorProviderSettings(moto.endpoint),
          access_key: keys.build.AWS_ACCESS_KEY_ID,
          secret_key: keys.build.AWS_SECRET_ACCESS_KEY,
        },
      ],
    },
  });
});

afterAll(async () => {
  try {
    if (workspace && !destroyed && workspace.stateList(buildUserRun()).length > 0) destroy(workspace, 300_000, buildUserRun());
  } finally {
    workspace?.remove();
    await moto?.stop();
  }
});

/** Terraform's environment: the S3 backend signs with the build user's keys too. */
function buildUserRun(options: TerraformRunOptions = {}): TerraformRunOptions {
  return { ...options, env: { ...keys.build, AWS_SESSION_TOKEN: '', ...options.env } };
}

/** An AWS CLI call's outcome, reduced to allowed or the error code it got. */
function outcome(env: Record<string, string>, args: string[]): string {
  const result = awsCliResult(env, args);
  return result.code === 0 ? 'allowed' : (/\(([A-Za-z.]+)\)/.exec(result.stderr)?.[1] ?? result.stderr.trim());
}

test('the synthesized stack is the pipeline’s: existing instance profile (no IAM resources), state in S3 under the build’s key', () => {
  expect(json.terraform.backend.s3).toMatchObject({ bucket: STATE_BUCKET, key: STATE_KEY });
  expect(Object.keys(json.resource).filter((type) => type.startsWith('aws_iam_'))).toEqual([]);
  expect(Object.values(json.resource.aws_instance).map((instance: any) => instance.iam_instance_profile)).toEqual([
    PROFILE,
    PROFILE,
    PROFILE,
    PROFILE,
  ]);
});

test('enforcement is on from the first call after the set-up: calls outside the policy are denied to the build user, allowed to an administrator', () => {
  expect(outcome(asBuildUser, ['iam', 'list-users'])).toBe('AccessDenied');
  expect(outcome(asBuildUser, ['ec2', 'create-key-pair', '--key-name', 'not-in-the-policy'])).toMatch(
    /^(UnauthorizedOperation|AccessDenied)$/,
  );
  expect(outcome(asAdmin, ['iam', 'list-users'])).toBe('allowed');
  expect(outcome(asAdmin, ['ec2', 'create-key-pair', '--key-name', 'admin-control'])).toBe('allowed');
  expect(outcome(asAdmin, ['ec2', 'delete-key-pair', '--key-name', 'admin-control'])).toBe('allowed');
  // A call inside the policy is allowed to the build user: the user signs correctly.
  expect(outcome(asBuildUser, ['ec2', 'describe-vpcs'])).toBe('allowed');
  before = inventory({ ...moto, clientEnv: asAdmin });
});

test('as the build user (actions of the build role’s policy only, Resource and Condition relaxed to *): terraform init and apply succeed with no denial', () => {
  workspace.init(buildUserRun());
  const apply = workspace.run(['apply', '-auto-approve', '-input=false', '-no-color'], buildUserRun({ check: false }));
  expect({ code: apply.code, stderr: apply.stderr }).toEqual({ code: 0, stderr: '' });
  expect(apply.stdout).toMatch(/Apply complete! Resources: \d+ added, 0 changed, 0 destroyed/);
  const outputs = workspace.run(['output', '-json'], buildUserRun());
  const nat = JSON.parse(outputs.stdout)['nat-instance-id'].value as string;
  expect(awsCli(asAdmin, ['ec2', 'describe-instances', '--instance-ids', nat]).Reservations[0].Instances[0]).toMatchObject({
    State: { Name: 'running' },
    IamInstanceProfile: { Arn: `arn:aws:iam::${MOTO_ACCOUNT_ID}:instance-profile/${PROFILE}` },
  });
});

test('as the build user: the S3 backend’s calls on the state key (list, write, read, delete) are allowed', () => {
  const stateFile = `${workspace.dir}/terraform.tfstate`;
  // A prefix without a "/" (see the work-around): ListObjectsV2 is allowed or denied as a whole.
  expect(outcome(asBuildUser, ['s3api', 'list-objects-v2', '--bucket', STATE_BUCKET, '--prefix', 'e2e-state'])).toBe('allowed');
  expect(outcome(asBuildUser, ['s3api', 'put-object', '--bucket', STATE_BUCKET, '--key', STATE_KEY, '--body', stateFile])).toBe('allowed');
  expect(
    outcome(asBuildUser, ['s3api', 'get-object', '--bucket', STATE_BUCKET, '--key', STATE_KEY, `${workspace.dir}/state-read-back.json`]),
  ).toBe('allowed');
  expect(outcome(asBuildUser, ['s3api', 'delete-object', '--bucket', STATE_BUCKET, '--key', STATE_KEY])).toBe('allowed');
});

test('as the build user: terraform destroy succeeds with no denial and leaves nothing behind', () => {
  const result = destroy(workspace, undefined, buildUserRun());
  destroyed = true;
  expect(result.stderr).toBe('');
  expect(workspace.stateList(buildUserRun())).toEqual([]);
  expect(leftovers({ ...moto, clientEnv: asAdmin }, before)).toEqual({});
});
