import { Construct } from 'constructs';
import { TerraformOutput, TerraformStack } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { requireSupportedVersions } from './supported-versions';
import { NatTestPipeline } from '../modules/test-pipeline';

export interface NatTestPipelineConfig {
  /** AWS region of the pipeline; the build deploys the example stack into the same region. */
  readonly region: string;
  /** GitHub repository `owner/name` the pipeline watches. */
  readonly repository: string;
  /** Branch whose pushes start a run. */
  readonly branch: string;
  /** An existing GitHub connection to use instead of creating one (NatTestPipelineProps.connectionArn). */
  readonly connectionArn?: string;
}

/** The repository the pipeline watches unless NAT_PIPELINE_REPOSITORY says otherwise. */
export const DEFAULT_PIPELINE_REPOSITORY = 'your-github-org/cdktf-nat-instance';

/** Reads the pipeline's settings from the environment: nothing to edit in code. */
export function natTestPipelineConfigFromEnv(env: NodeJS.ProcessEnv): NatTestPipelineConfig {
  return {
    region: env.NAT_PIPELINE_REGION || env.AWS_REGION || 'eu-central-1',
    repository: env.NAT_PIPELINE_REPOSITORY || DEFAULT_PIPELINE_REPOSITORY,
    branch: env.NAT_PIPELINE_BRANCH || 'main',
    connectionArn: env.NAT_PIPELINE_CONNECTION_ARN || undefined,
  };
}

/**
 * The test pipeline: GitHub connection, artifact and state buckets, CodePipeline V2
 * and the CodeBuild project that deploys `nat-example`, checks egress with SSM and destroys it.
 */
export class NatTestPipelineStack extends TerraformStack {
  public readonly testPipeline: NatTestPipeline;

  constructor(scope: Construct, id: string, config: NatTestPipelineConfig) {
    super(scope, id);
    new AwsProvider(this, 'aws', { region: config.region, defaultTags: [{ tags: { Stack: id } }] });
    requireSupportedVersions(this);
    this.testPipeline = new NatTestPipeline(this, 'pipeline', {
      repository: config.repository,
      branch: config.branch,
      connectionArn: config.connectionArn,
    });
    new TerraformOutput(this, 'connection-arn', {
      value: this.testPipeline.connectionArn,
      description: this.testPipeline.connection
        ? 'Complete this PENDING connection once in the console before the first run'
        : 'The existing GitHub connection the pipeline uses (NAT_PIPELINE_CONNECTION_ARN)',
    });
    new TerraformOutput(this, 'state-bucket', { value: this.testPipeline.stateBucket.bucketName });
    new TerraformOutput(this, 'codebuild-project', { value: this.testPipeline.buildProject.projectName });
  }
}
