import { Testing } from 'cdktf';
import { NatTestPipelineStack, natTestPipelineConfigFromEnv, DEFAULT_PIPELINE_REPOSITORY } from '../../stacks/nat-test-pipeline';
import { E2E_STATE_KEY_PREFIX, NatTestPipeline, SecureBucket } from '../../modules/test-pipeline';
import { synthError } from './support/synth';

type Block = Record<string, any>;

function synthPipelineStack(env: NodeJS.ProcessEnv = {}) {
  const stack = new NatTestPipelineStack(Testing.app(), 'nat-test-pipeline', natTestPipelineConfigFromEnv(env));
  const json = JSON.parse(Testing.synth(stack, true));
  const resources = (type: string): Record<string, Block> => json.resource?.[type] ?? {};
  const only = (type: string): Block => {
    const blocks = Object.values(resources(type));
    if (blocks.length !== 1) throw new Error(`expected one ${type}, found ${blocks.length}`);
    return blocks[0];
  };
  /** The resource of a type whose logical name contains `part`. */
  const named = (type: string, part: string): [string, Block] => {
    const entries = Object.entries(resources(type)).filter(([name]) => name.includes(part));
    if (entries.length !== 1) throw new Error(`expected one ${type} named *${part}*, found ${entries.map(([n]) => n).join(', ')}`);
    return entries[0];
  };
  return { json, resources, only, named };
}

describe('nat-test-pipeline stack', () => {
  const synth = synthPipelineStack();

  test('CodePipeline V2 runs QUEUED: a push during a run waits instead of sharing its test resources', () => {
    const pipeline = synth.only('aws_codepipeline');
    expect(pipeline.pipeline_type).toBe('V2');
    expect(pipeline.execution_mode).toBe('QUEUED');
    expect(pipeline.stage.map((stage: Block) => stage.name)).toEqual(['Source', 'Test']);
  });

  test('the Source stage reads the configured repository and branch through the GitHub connection', () => {
    const [connectionName, connection] = synth.named('aws_codestarconnections_connection', 'github');
    expect(connection.provider_type).toBe('GitHub');
    const source = synth.only('aws_codepipeline').stage[0].action[0];
    expect(source.provider).toBe('CodeStarSourceConnection');
    expect(source.configuration.ConnectionArn).toBe(`\${aws_codestarconnections_connection.${connectionName}.arn}`);
    expect(source.configuration.FullRepositoryId).toBe(DEFAULT_PIPELINE_REPOSITORY);
    expect(source.configuration.BranchName).toBe('main');
    expect(source.output_artifacts).toEqual(['source']);
  });

  test('GIVEN NAT_PIPELINE_CONNECTION_ARN THEN no connection is created: the Source stage, the pipeline role and the output use the given one', () => {
    const arn = 'arn:aws:codeconnections:eu-central-1:111122223333:connection/0a1b2c3d-4e5f-6789-abcd-ef0123456789';
    const given = synthPipelineStack({ NAT_PIPELINE_CONNECTION_ARN: arn });
    expect(given.resources('aws_codestarconnections_connection')).toEqual({});
    expect(given.only('aws_codepipeline').stage[0].action[0].configuration.ConnectionArn).toBe(arn);
    const [, policy] = given.named('aws_iam_role_policy', 'pipeline-policy');
    expect(JSON.parse(policy.policy).Statement.find((s: Block) => s.Sid === 'UseTheGitHubConnection').Resource).toEqual([arn]);
    expect(given.json.output['connection-arn'].value).toBe(arn);
    // Control: without it, the stack creates the connection.
    expect(Object.keys(synth.resources('aws_codestarconnections_connection'))).toHaveLength(1);
  });

  test('repository, branch and region come from the environment', () => {
    const custom = synthPipelineStack({
      NAT_PIPELINE_REPOSITORY: 'acme/nat',
      NAT_PIPELINE_BRANCH: 'release',
      NAT_PIPELINE_REGION: 'us-west-2',
    });
    const source = custom.only('aws_codepipeline').stage[0].action[0];
    expect(source.configuration.FullRepositoryId).toBe('acme/nat');
    expect(source.configuration.BranchName).toBe('release');
    expect(custom.json.provider.aws[0].region).toBe('us-west-2');
  });

  test('the Test stage runs the e2e CodeBuild project on the source artifact', () => {
    const [projectName] = synth.named('aws_codebuild_project', 'e2e');
    const test = synth.only('aws_codepipeline').stage[1].action[0];
    expect(test.provider).toBe('CodeBuild');
    expect(test.input_artifacts).toEqual(['source']);
    expect(test.configuration.ProjectName).toBe(`\${aws_codebuild_project.${projectName}.name}`);
  });

  test('CodeBuild: ARM small container, AL2023 aarch64 standard 3.0 image, one build at a time, a timeout, no privileged mode', () => {
    const project = synth.only('aws_codebuild_project');
    expect(project.environment.type).toBe('ARM_CONTAINER');
    expect(project.environment.compute_type).toBe('BUILD_GENERAL1_SMALL');
    expect(project.environment.image).toBe('aws/codebuild/amazonlinux2-aarch64-standard:3.0');
    expect(project.environment.privileged_mode).toBe(false);
    expect(project.concurrent_build_limit).toBe(1);
    expect(project.build_timeout).toBe(90);
    expect(project.source).toEqual({ type: 'CODEPIPELINE', buildspec: 'buildspec.yml' });
  });

  test('CodeBuild logs go to a log group with a retention', () => {
    const [groupName, group] = synth.named('aws_cloudwatch_log_group', 'e2e');
    expect(group.retention_in_days).toBe(30);
    const project = synth.only('aws_codebuild_project');
    expect(project.logs_config.cloudwatch_logs.status).toBe('ENABLED');
    expect(project.logs_config.cloudwatch_logs.group_name).toBe(`\${aws_cloudwatch_log_group.${groupName}.name}`);
  });

  test('the build gets the test instance profile name (TESTING_SSM_ROLE), the state bucket and the document name', () => {
    const env = Object.fromEntries(
      synth.only('aws_codebuild_project').environment.environment_variable.map((v: Block) => [v.name, v.value]),
    );
    const [profileName] = synth.named('aws_iam_instance_profile', 'test-instance-role');
    const [stateBucket] = synth.named('aws_s3_bucket', 'state');
    const [documentName] = synth.named('aws_ssm_document', 'connectivity');
    expect(env.TESTING_SSM_ROLE).toBe(`\${aws_iam_instance_profile.${profileName}.name}`);
    expect(env.NAT_STATE_BUCKET).toBe(`\${aws_s3_bucket.${stateBucket}.bucket}`);
    expect(env.NAT_STATE_KEY_PREFIX).toBe(E2E_STATE_KEY_PREFIX);
    expect(env.CONNECTIVITY_DOCUMENT).toBe(`\${aws_ssm_document.${documentName}.name}`);
    expect(env.NAT_E2E_STACK).toBe('nat-example');
  });

  test('the test instance role only carries AmazonSSMManagedInstanceCore and trusts only EC2', () => {
    const [roleName, role] = synth.named('aws_iam_role', 'test-instance-role');
    expect(JSON.parse(role.assume_role_policy).Statement[0].Principal).toEqual({ Service: 'ec2.amazonaws.com' });
    const attachments = Object.values(synth.resources('aws_iam_role_policy_attachment')).filter((a) => a.role.includes(roleName));
    expect(attachments.map((a) => a.policy_arn)).toEqual([expect.stringMatching(/:policy\/AmazonSSMManagedInstanceCore$/)]);
  });

  describe.each(['artifacts', 'state'])('the %s bucket', (which) => {
    const [bucketName, bucket] = synth.named('aws_s3_bucket', which);
    const ref = `\${aws_s3_bucket.${bucketName}.id}`;
    const forBucket = (type: string): Block => {
      const blocks = Object.values(synth.resources(type)).filter((block) => block.bucket === ref);
      expect(blocks).toHaveLength(1);
      return blocks[0];
    };

    test('gets a unique name from a prefix (no random provider)', () => {
      expect(bucket.bucket_prefix).toMatch(new RegExp(`^nat-test-${which}-$`));
      expect(bucket.bucket).toBeUndefined();
    });

    test('is versioned', () => {
      expect(forBucket('aws_s3_bucket_versioning').versioning_configuration.status).toBe('Enabled');
    });

    test('is encrypted at rest', () => {
      const rule = forBucket('aws_s3_bucket_server_side_encryption_configuration').rule[0];
      expect(rule.apply_server_side_encryption_by_default.sse_algorithm).toBe('AES256');
    });

    test('blocks every form of public access and disables ACLs', () => {
      const block = forBucket('aws_s3_bucket_public_access_block');
      expect([block.block_public_acls, block.block_public_policy, block.ignore_public_acls, block.restrict_public_buckets]).toEqual([
        true,
        true,
        true,
        true,
      ]);
      expect(forBucket('aws_s3_bucket_ownership_controls').rule.object_ownership).toBe('BucketOwnerEnforced');
    });

    test('refuses requests without TLS', () => {
      const policy = JSON.parse(forBucket('aws_s3_bucket_policy').policy);
      expect(policy.Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:*',
          Resource: [`\${aws_s3_bucket.${bucketName}.arn}`, `\${aws_s3_bucket.${bucketName}.arn}/*`],
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    });

    test('expires old versions and abandoned uploads', () => {
      const rule = forBucket('aws_s3_bucket_lifecycle_configuration').rule[0];
      expect(rule.status).toBe('Enabled');
      expect(rule.noncurrent_version_expiration[0].noncurrent_days).toBe(30);
      expect(rule.abort_incomplete_multipart_upload[0].days_after_initiation).toBe(7);
    });
  });

  test('artifacts expire after 30 days; state files are kept so a later run can still destroy', () => {
    const lifecycleOf = (which: string) => {
      const [bucketName] = synth.named('aws_s3_bucket', which);
      return Object.values(synth.resources('aws_s3_bucket_lifecycle_configuration')).find(
        (block) => block.bucket === `\${aws_s3_bucket.${bucketName}.id}`,
      )!.rule[0];
    };
    expect(lifecycleOf('artifacts').expiration[0].days).toBe(30);
    expect(lifecycleOf('state').expiration).toBeUndefined();
  });

  test('the pipeline stores artifacts in the artifact bucket', () => {
    const [bucketName] = synth.named('aws_s3_bucket', 'artifacts');
    expect(synth.only('aws_codepipeline').artifact_store).toEqual([{ type: 'S3', location: `\${aws_s3_bucket.${bucketName}.bucket}` }]);
  });

  test.each([
    ['pipeline-role', 'codepipeline.amazonaws.com'],
    ['e2e_role', 'codebuild.amazonaws.com'],
  ])('the %s trusts only %s acting for this account', (part, service) => {
    const [, role] = synth.named('aws_iam_role', part);
    const [accountName] = Object.keys(synth.json.data.aws_caller_identity).filter((name) => role.assume_role_policy.includes(name));
    expect(JSON.parse(role.assume_role_policy).Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: service },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'aws:SourceAccount': `\${data.aws_caller_identity.${accountName}.account_id}` } },
      },
    ]);
  });

  test('the pipeline role may only use the connection, the artifact bucket and the e2e project', () => {
    const [, policy] = synth.named('aws_iam_role_policy', 'pipeline-policy');
    const statements: Block[] = JSON.parse(policy.policy).Statement;
    const [projectName] = synth.named('aws_codebuild_project', 'e2e');
    expect(statements.find((s) => s.Sid === 'RunTheE2eBuild')!.Resource).toEqual([`\${aws_codebuild_project.${projectName}.arn}`]);
    for (const statement of statements) {
      expect(statement.Resource).not.toContain('*');
    }
  });
});

describe('NatTestPipeline props', () => {
  test.each([
    [{ repository: 'not a repo' }, "'repository'"],
    [{ repository: 'acme/nat', branch: 'bad branch' }, "'branch'"],
    [{ repository: 'acme/nat', name: 'Has_Upper' }, "'name'"],
    [{ repository: 'acme/nat', name: 'a-name-that-is-much-too-long-for-s3' }, "'name'"],
    [{ repository: 'acme/nat', buildTimeoutMinutes: 1 }, "'timeoutMinutes'"],
    [{ repository: 'acme/nat', connectionArn: 'nat-test-github' }, "'connectionArn'"],
    [{ repository: 'acme/nat', connectionArn: 'arn:aws:s3:::bucket' }, "'connectionArn'"],
  ])('%p fails at synth naming %s', (props, prop) => {
    expect(synthError((stack) => new NatTestPipeline(stack, 'p', props))).toContain(prop);
  });

  test.each([
    [{ namePrefix: 'UPPER' }, "'namePrefix'"],
    [{ namePrefix: 'ok-', expirationDays: 0 }, "'expirationDays'"],
    [{ namePrefix: 'ok-', noncurrentVersionExpirationDays: 1.5 }, "'noncurrentVersionExpirationDays'"],
  ])('SecureBucket %p fails at synth naming %s', (props, prop) => {
    expect(synthError((stack) => new SecureBucket(stack, 'b', props))).toContain(prop);
  });
});
