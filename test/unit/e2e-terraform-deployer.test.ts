/**
 * The real deployer's command sequence, with a command-runner double in place of cdktf and
 * Terraform (Terraform cannot reach its provider registry here).
 */
import { CommandRunner, parseStackOutputs, TerraformDeployer, terraformDeployerConfigFromEnv } from '../../test/e2e/terraform-deployer';

const CONFIG = {
  projectDir: '/repo',
  stackName: 'nat-example',
  stateBucket: 'nat-test-state-abc',
  stateKey: 'e2e-state/build-7.tfstate',
  instanceProfileName: 'nat-test-instance',
  region: 'eu-west-1',
};

function recordingRunner(outputs: object = { 'public-ip': { value: '203.0.113.10' }, 'test-instances-ids': { value: ['i-1', 'i-2'] } }) {
  const calls: Array<{ line: string; cwd: string; env: NodeJS.ProcessEnv }> = [];
  const run: CommandRunner = async (command, args, options) => {
    calls.push({ line: [command, ...args].join(' '), cwd: options.cwd, env: options.env });
    return args[0] === 'output' ? JSON.stringify(outputs) : '';
  };
  return { calls, run };
}

describe('TerraformDeployer', () => {
  test('deploy: synth with the S3 backend settings, init, apply, read the outputs in the stack directory', async () => {
    const { calls, run } = recordingRunner();
    const deployed = await new TerraformDeployer(CONFIG, run, {}).deploy();
    expect(calls.map((c) => [c.line, c.cwd])).toEqual([
      ['npx cdktf synth', '/repo'],
      ['terraform init -input=false -reconfigure', '/repo/cdktf.out/stacks/nat-example'],
      ['terraform apply -input=false -auto-approve', '/repo/cdktf.out/stacks/nat-example'],
      ['terraform output -json', '/repo/cdktf.out/stacks/nat-example'],
    ]);
    expect(calls[0].env).toMatchObject({
      NAT_STATE_BUCKET: 'nat-test-state-abc',
      NAT_STATE_KEY: 'e2e-state/build-7.tfstate',
      TESTING_SSM_ROLE: 'nat-test-instance',
      NAT_EXAMPLE_REGION: 'eu-west-1',
      CHECKPOINT_DISABLE: '1',
    });
    expect(deployed).toEqual({ publicIp: '203.0.113.10', testInstanceIds: ['i-1', 'i-2'] });
  });

  test('destroy re-synthesizes and re-initializes, so it works after a half-done deploy or in a fresh build', async () => {
    const { calls, run } = recordingRunner();
    await new TerraformDeployer(CONFIG, run, {}).destroy();
    expect(calls.map((c) => c.line)).toEqual([
      'npx cdktf synth',
      'terraform init -input=false -reconfigure',
      'terraform destroy -input=false -auto-approve',
    ]);
  });

  test('a failing command fails the deploy', async () => {
    const run: CommandRunner = async (command, args) => {
      if (args[0] === 'apply') throw new Error(`${command} apply exited with 1`);
      return '';
    };
    await expect(new TerraformDeployer(CONFIG, run, {}).deploy()).rejects.toThrow('terraform apply exited with 1');
  });
});

describe('parseStackOutputs', () => {
  test.each([
    [{}, /'public-ip' missing/],
    [{ 'public-ip': { value: '1.2.3.4' } }, /'test-instances-ids' missing/],
    [{ 'public-ip': { value: '1.2.3.4' }, 'test-instances-ids': { value: [1] } }, /not a list of IDs/],
  ])('%p is refused', (outputs, message) => {
    expect(() => parseStackOutputs(outputs as never)).toThrow(message);
  });
});

describe('terraformDeployerConfigFromEnv', () => {
  test('derives a per-build state key from the CodeBuild build number', () => {
    const config = terraformDeployerConfigFromEnv(
      {
        NAT_STATE_BUCKET: 'b',
        TESTING_SSM_ROLE: 'p',
        AWS_REGION: 'eu-central-1',
        NAT_STATE_KEY_PREFIX: 'e2e-state/',
        CODEBUILD_BUILD_NUMBER: '42',
      },
      '/repo',
    );
    expect(config).toMatchObject({ stateKey: 'e2e-state/build-42.tfstate', stackName: 'nat-example', region: 'eu-central-1' });
  });

  test('an explicit NAT_STATE_KEY wins (cleanup of an older build)', () => {
    const config = terraformDeployerConfigFromEnv(
      {
        NAT_STATE_BUCKET: 'b',
        TESTING_SSM_ROLE: 'p',
        AWS_REGION: 'r',
        NAT_STATE_KEY: 'e2e-state/build-7.tfstate',
        CODEBUILD_BUILD_NUMBER: '42',
      },
      '/repo',
    );
    expect(config.stateKey).toBe('e2e-state/build-7.tfstate');
  });

  test('names every missing setting', () => {
    expect(() => terraformDeployerConfigFromEnv({}, '/repo')).toThrow(
      'e2e settings missing from the environment: NAT_STATE_BUCKET, TESTING_SSM_ROLE, AWS_REGION, NAT_STATE_KEY (or CODEBUILD_BUILD_NUMBER)',
    );
  });
});
