/**
 * Safety net for buildspec.yml's `finally`: destroys the build's stack from its S3 state even when
 * the e2e run never reached its own destroy (it is a no-op when nothing is left). Exit 1 on failure.
 */
import { resolve } from 'path';
import { TerraformDeployer, terraformDeployerConfigFromEnv } from './terraform-deployer';

async function main(): Promise<void> {
  const deployer = new TerraformDeployer(terraformDeployerConfigFromEnv(process.env, resolve(__dirname, '../..')));
  await deployer.destroy();
}

main().catch((error: Error) => {
  console.error(`destroy failed: ${error.message}`);
  process.exit(1);
});
