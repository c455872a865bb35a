/**
 * End to end on real AWS (run by the CodeBuild project, see buildspec.yml): deploy nat-example with
 * S3 state, check with SSM that every private test instance leaves through the NAT's public IP and
 * that a wrong expected IP fails, destroy. Without AWS credentials this fails and says why; it is
 * not part of `npm test`.
 */
import { resolve } from 'path';
import { SSMClient } from '@aws-sdk/client-ssm';
import { CONNECTIVITY_DOCUMENT_NAME } from '../../modules/connectivity';
import { requireAwsCredentials } from './aws-credentials';
import { runConnectivityE2e } from './connectivity-e2e';
import { TerraformDeployer, terraformDeployerConfigFromEnv } from './terraform-deployer';

const MINUTE = 60_000;

describe('nat-example on AWS', () => {
  test(
    'every private test instance reaches the internet with the NAT public IP, a wrong expected IP fails, and the stack is destroyed',
    async () => {
      const region = process.env.NAT_EXAMPLE_REGION || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION;
      const ssm = new SSMClient({ region });
      await requireAwsCredentials(ssm);
      const deployer = new TerraformDeployer(terraformDeployerConfigFromEnv(process.env, resolve(__dirname, '../..')));
      const report = await runConnectivityE2e(
        { ssm, deployer },
        {
          documentName: process.env.CONNECTIVITY_DOCUMENT || CONNECTIVITY_DOCUMENT_NAME,
          onlineTimeoutMs: 10 * MINUTE,
          commandTimeoutMs: 3 * MINUTE,
          pollIntervalMs: 5_000,
        },
      );
      expect(report.positive.map((r) => [r.status, r.observedIp])).toEqual(
        report.deployed.testInstanceIds.map(() => ['Success', report.deployed.publicIp]),
      );
      expect(report.negative.map((r) => r.status)).toEqual(report.deployed.testInstanceIds.map(() => 'Failed'));
    },
    55 * MINUTE,
  );
});
