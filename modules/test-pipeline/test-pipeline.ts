import { Construct } from 'constructs';
import { Token } from 'cdktf';
import { Codepipeline } from '@cdktf/provider-aws/lib/codepipeline';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity';
import { SsmInstanceRole } from '../iam';
import { ConnectivityDocument, TEST_INSTANCE_TAG } from '../connectivity';
import { SecureBucket } from './secure-bucket';
import { GitHubConnection } from './github-connection';
import { E2eBuildProject } from './e2e-build-project';
import { serviceTrustPolicy } from './service-trust-policy';

export interface NatTestPipelineProps {
  /** GitHub repository as `owner/name`. */
  readonly repository: string;
  /**
   * Branch whose pushes start a run.
   * @default 'main'
   */
  readonly branch?: string;
  /**
   * Prefix of every name (pipeline, project, roles, buckets, connection).
   * @default 'nat-test'
   */
  readonly name?: string;
  /**
   * The cdktf stack the build deploys and destroys (its provider tags everything `Stack=<name>`).
   * @default 'nat-example'
   */
  readonly deployedStackName?: string;
  /**
   * @default 90
   */
  readonly buildTimeoutMinutes?: number;
  /**
   * Days to keep pipeline artifacts (source zips).
   * @default 30
   */
  readonly artifactExpirationDays?: number;
  /**
   * @default 30
   */
  readonly logRetentionDays?: number;
  /**
   * @default {}
   */
  readonly tags?: Record<string, string>;
  /**
   * ARN of an existing CodeConnections (or CodeStar Connections) connection to GitHub, e.g. one
   * your account already uses for other pipelines; it must already be *Available*. The pipeline
   * then creates no connection and there is no handshake to complete.
   * @default a new connection `<name>-github`, created PENDING (complete it once in the console)
   */
  readonly connectionArn?: string;
}

/** A connection ARN: `arn:<partition>:codeconnections|codestar-connections:<region>:<account>:connection/<id>`. */
const CONNECTION_ARN = /^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection\/[A-Za-z0-9-]+$/;

/** Key prefix of the per-build Terraform state files in the state bucket. */
export const E2E_STATE_KEY_PREFIX = 'e2e-state/';

/**
 * The test pipeline, without the defects of the design it follows: on every push to `branch`, CodePipeline V2
 * (QUEUED) hands the source to a CodeBuild project that deploys the example stack with state in
 * S3 under a per-build key, runs the `TestInternetConnectivity` document on every private test
 * instance, and destroys the stack again.
 */
export class NatTestPipeline extends Construct {
  public readonly pipeline: Codepipeline;
  public readonly artifactBucket: SecureBucket;
  public readonly stateBucket: SecureBucket;
  /** The connection the pipeline created; undefined when `connectionArn` named an existing one. */
  public readonly connection?: GitHubConnection;
  /** The GitHub connection the Source stage uses (created or given). */
  public readonly connectionArn: string;
  public readonly buildProject: E2eBuildProject;
  public readonly testInstanceRole: SsmInstanceRole;
  public readonly connectivityDocument: ConnectivityDocument;

  constructor(scope: Construct, id: string, props: NatTestPipelineProps) {
    super(scope, id);
    const name = props.name ?? 'nat-test';
    const branch = props.branch ?? 'main';
    const tags = props.tags ?? {};
    validatePipelineProps(props.repository, branch, name, props.connectionArn);

    this.artifactBucket = new SecureBucket(this, 'artifacts', {
      namePrefix: `${name}-artifacts-`,
      expirationDays: props.artifactExpirationDays ?? 30,
      forceDestroy: true,
      tags,
    });
    // Separate from the artifacts: state must outlive builds so a later run can still destroy.
    this.stateBucket = new SecureBucket(this, 'state', { namePrefix: `${name}-state-`, tags });
    if (props.connectionArn === undefined) {
      this.connection = new GitHubConnection(this, 'github', { name: `${name}-github`, tags });
    }
    this.connectionArn = props.connectionArn ?? this.connection!.connectionArn;
    this.testInstanceRole = new SsmInstanceRole(this, 'test-instance-role', { name: `${name}-instance`, tags });
    this.connectivityDocument = new ConnectivityDocument(this, 'connectivity', { tags });

    this.buildProject = new E2eBuildProject(this, 'e2e', {
      name: `${name}-e2e`,
      artifactBucketArn: this.artifactBucket.bucketArn,
      stateBucketName: this.stateBucket.bucketName,
      stateBucketArn: this.stateBucket.bucketArn,
      stateKeyPrefix: E2E_STATE_KEY_PREFIX,
      testInstanceProfileName: this.testInstanceRole.instanceProfileName,
      testInstanceRoleArn: this.testInstanceRole.role.arn,
      connectivityDocumentName: this.connectivityDocument.documentName,
      connectivityDocumentArn: this.connectivityDocument.documentArn,
      deployedStackName: props.deployedStackName ?? 'nat-example',
      testInstanceTag: TEST_INSTANCE_TAG,
      timeoutMinutes: props.buildTimeoutMinutes,
      logRetentionDays: props.logRetentionDays,
      tags,
    });

    const pipelineRole = new IamRole(this, 'pipeline-role', {
      name: `${name}-pipeline`,
      assumeRolePolicy: serviceTrustPolicy('codepipeline.amazonaws.com', new DataAwsCallerIdentity(this, 'account').accountId),
      tags,
    });
    const pipelinePolicy = new IamRolePolicy(this, 'pipeline-policy', {
      name: 'source-and-test',
      role: pipelineRole.id,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'Artifacts',
            Effect: 'Allow',
            Action: ['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject', 's3:PutObjectAcl'],
            Resource: [`${this.artifactBucket.bucketArn}/*`],
          },
          {
            Sid: 'ArtifactBucket',
            Effect: 'Allow',
            Action: ['s3:GetBucketLocation', 's3:GetBucketVersioning', 's3:ListBucket'],
            Resource: [this.artifactBucket.bucketArn],
          },
          {
            Sid: 'UseTheGitHubConnection',
            Effect: 'Allow',
            Action: ['codeconnections:UseConnection', 'codestar-connections:UseConnection'],
            Resource: [this.connectionArn],
          },
          {
            Sid: 'RunTheE2eBuild',
            Effect: 'Allow',
            Action: ['codebuild:BatchGetBuilds', 'codebuild:StartBuild'],
            Resource: [this.buildProject.projectArn],
          },
        ],
      }),
    });

    this.pipeline = new Codepipeline(this, 'pipeline', {
      name,
      pipelineType: 'V2',
      // A push during a run waits for it instead of sharing (or superseding) its test resources.
      executionMode: 'QUEUED',
      roleArn: pipelineRole.arn,
      artifactStore: [{ type: 'S3', location: this.artifactBucket.bucketName }],
      stage: [
        {
          name: 'Source',
          action: [
            {
              name: 'GitHub',
              category: 'Source',
              owner: 'AWS',
              provider: 'CodeStarSourceConnection',
              version: '1',
              outputArtifacts: ['source'],
              configuration: {
                ConnectionArn: this.connectionArn,
                FullRepositoryId: props.repository,
                BranchName: branch,
                OutputArtifactFormat: 'CODE_ZIP',
                DetectChanges: 'true',
              },
            },
          ],
        },
        {
          name: 'Test',
          action: [
            {
              name: 'DeployCheckDestroy',
              category: 'Test',
              owner: 'AWS',
              provider: 'CodeBuild',
              version: '1',
              inputArtifacts: ['source'],
              configuration: { ProjectName: this.buildProject.projectName },
            },
          ],
        },
      ],
      tags,
      dependsOn: [pipelinePolicy],
    });
  }
}

function validatePipelineProps(repository: string, branch: string, name: string, connectionArn: string | undefined): void {
  if (connectionArn !== undefined && !Token.isUnresolved(connectionArn) && !CONNECTION_ARN.test(connectionArn)) {
    throw new Error(
      `'connectionArn' must be the ARN of a GitHub connection, arn:aws:codeconnections:<region>:<account>:connection/<id> ` +
        `(or codestar-connections), got '${connectionArn}'`,
    );
  }
  if (!Token.isUnresolved(repository) && !/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/.test(repository)) {
    throw new Error(`'repository' must be a GitHub repository as 'owner/name', got '${repository}'`);
  }
  if (!Token.isUnresolved(branch) && (branch.length === 0 || /[\s~^:?*[\\]/.test(branch))) {
    throw new Error(`'branch' must be a git branch name, got '${branch}'`);
  }
  // The longest derived name is `${name}-artifacts-` as an S3 bucket prefix (37 characters at most); the connection name takes 32.
  if (!/^[a-z0-9][a-z0-9-]{0,24}$/.test(name)) {
    throw new Error(`'name' must be 1-25 lower-case letters, digits or '-', starting with a letter or digit, got '${name}'`);
  }
}
