import { SSMClient } from '@aws-sdk/client-ssm';

/** Fails with a plain explanation when the default AWS credential chain finds nothing. */
export async function requireAwsCredentials(ssm: SSMClient): Promise<void> {
  try {
    await ssm.config.credentials();
  } catch (error) {
    throw new Error(
      'No AWS credentials: the e2e suite deploys real resources and runs in the test pipeline (buildspec.yml), ' +
        `not in npm test. Provide credentials and the pipeline's environment to run it by hand. (${(error as Error).message})`,
    );
  }
}
