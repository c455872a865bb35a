import { Construct } from 'constructs';
import { Token } from 'cdktf';
import { CodebuildProject } from '@cdktf/provider-aws/lib/codebuild-project';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition';
import { DataAwsRegion } from '@cdktf/provider-aws/lib/data-aws-region';
import { e2eBuildPolicyStatements } from './e2e-build-policy';
import { serviceTrustPolicy } from './service-trust-policy';

/** The build image the issue fixes: Amazon Linux 2023 on Graviton, Node 18-24, no Terraform. */
export const E2E_BUILD_IMAGE = 'aws/codebuild/amazonlinux2-aarch64-standard:3.0';
export const E2E_BUILD_ENVIRONMENT_TYPE = 'ARM_CONTAINER';
export const E2E_BUILD_COMPUTE_TYPE = 'BUILD_GENERAL1_SMALL';

/** Environment variables the buildspec and the e2e runner read. */
export const E2E_ENV = {
  instanceProfile: 'TESTING_SSM_ROLE',
  stateBucket: 'NAT_STATE_BUCKET',
  stateKeyPrefix: 'NAT_STATE_KEY_PREFIX',
  document: 'CONNECTIVITY_DOCUMENT',
  stackName: 'NAT_E2E_STACK',
} as const;

export interface E2eBuildProjectProps {
  /** Project name; also names its role, log group and report groups. */
  readonly name: string;
  readonly artifactBucketArn: string;
  readonly stateBucketName: string;
  readonly stateBucketArn: string;
  /** Key prefix under which every build writes its own state file. */
  readonly stateKeyPrefix: string;
  /** The instance profile the deployed stack puts on its instances (passed by name, so the build needs no iam:Create*). */
  readonly testInstanceProfileName: string;
  /** The role inside that profile: the only role the build may pass. */
  readonly testInstanceRoleArn: string;
  readonly connectivityDocumentName: string;
  readonly connectivityDocumentArn: string;
  /** The cdktf stack the build deploys; its provider tags everything `Stack=<name>`. */
  readonly deployedStackName: string;
  /** The tag of the instances the document may run on. */
  readonly testInstanceTag: { readonly key: string; readonly value: string };
  /**
   * Build timeout. A run takes about 20-30 minutes; the e2e test itself gives up after 55, which
   * leaves the buildspec's `finally` destroy time to run before CodeBuild stops the build.
   * @default 90
   */
  readonly timeoutMinutes?: number;
  /**
   * @default 30
   */
  readonly logRetentionDays?: number;
  /**
   * @default {}
   */
  readonly tags?: Record<string, string>;
}

/**
 * The CodeBuild project that runs `buildspec.yml` (deploy, SSM connectivity check, destroy),
 * with its own least-privilege role and a CloudWatch log group with a retention.
 */
export class E2eBuildProject extends Construct {
  public readonly project: CodebuildProject;
  public readonly role: IamRole;
  public readonly projectName: string;
  public readonly projectArn: string;
  public readonly logGroupName: string;

  constructor(scope: Construct, id: string, props: E2eBuildProjectProps) {
    super(scope, id);
    const timeoutMinutes = props.timeoutMinutes ?? 90;
    if (!Token.isUnresolved(timeoutMinutes) && (!Number.isInteger(timeoutMinutes) || timeoutMinutes < 5 || timeoutMinutes > 2160)) {
      throw new Error(`'timeoutMinutes' must be a whole number from 5 to 2160, got ${timeoutMinutes}`);
    }
    const account = new DataAwsCallerIdentity(this, 'account');
    const partition = new DataAwsPartition(this, 'partition');
    const region = new DataAwsRegion(this, 'region');

    const logGroup = new CloudwatchLogGroup(this, 'logs', {
      name: `/aws/codebuild/${props.name}`,
      retentionInDays: props.logRetentionDays ?? 30,
      tags: props.tags,
    });
    this.logGroupName = logGroup.name;

    this.role = new IamRole(this, 'role', {
      name: `${props.name}-codebuild`,
      assumeRolePolicy: serviceTrustPolicy('codebuild.amazonaws.com', account.accountId),
      tags: props.tags,
    });
    const policy = new IamRolePolicy(this, 'policy', {
      name: 'deploy-check-destroy-nat-example',
      role: this.role.id,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: e2eBuildPolicyStatements({
          partition: partition.partition,
          region: region.id,
          accountId: account.accountId,
          stackTag: { key: 'Stack', value: props.deployedStackName },
          testInstanceTag: props.testInstanceTag,
          testInstanceRoleArn: props.testInstanceRoleArn,
          stateBucketArn: props.stateBucketArn,
          stateKeyPrefix: props.stateKeyPrefix,
          artifactBucketArn: props.artifactBucketArn,
          logGroupArn: logGroup.arn,
          codeBuildProjectName: props.name,
          connectivityDocumentArn: props.connectivityDocumentArn,
        }),
      }),
    });

    const environmentVariable = [
      { name: E2E_ENV.instanceProfile, value: props.testInstanceProfileName },
      { name: E2E_ENV.stateBucket, value: props.stateBucketName },
      { name: E2E_ENV.stateKeyPrefix, value: props.stateKeyPrefix },
      { name: E2E_ENV.document, value: props.connectivityDocumentName },
      { name: E2E_ENV.stackName, value: props.deployedStackName },
    ].map((variable) => ({ ...variable, type: 'PLAINTEXT' }));

    this.project = new CodebuildProject(this, 'project', {
      name: props.name,
      description: 'Deploys the nat-example stack, checks egress through the NAT with SSM, destroys it',
      serviceRole: this.role.arn,
      buildTimeout: timeoutMinutes,
      queuedTimeout: 480,
      // One run at a time: two runs would share the test resources.
      concurrentBuildLimit: 1,
      source: { type: 'CODEPIPELINE', buildspec: 'buildspec.yml' },
      artifacts: { type: 'CODEPIPELINE' },
      environment: {
        type: E2E_BUILD_ENVIRONMENT_TYPE,
        computeType: E2E_BUILD_COMPUTE_TYPE,
        image: E2E_BUILD_IMAGE,
        imagePullCredentialsType: 'CODEBUILD',
        privilegedMode: false,
        environmentVariable,
      },
      logsConfig: { cloudwatchLogs: { status: 'ENABLED', groupName: logGroup.name } },
      tags: props.tags,
      // The role's policy and the log group must exist before the first build uses them.
      dependsOn: [policy, logGroup],
    });
    this.projectName = this.project.name;
    this.projectArn = this.project.arn;
  }
}
