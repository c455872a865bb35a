/**
 * First step of every e2e build (buildspec.yml): destroys what earlier builds left behind when
 * they died before their destroy, using their per-build state files in the state bucket.
 * Exit 1 when anything could not be cleaned up.
 */
import { resolve } from 'path';
import { S3Client } from '@aws-sdk/client-s3';
import { destroyOrphanedStacks } from './orphaned-states';
import { TerraformDeployer, terraformDeployerConfigFromEnv } from './terraform-deployer';

async function main(): Promise<void> {
  const config = terraformDeployerConfigFromEnv(process.env, resolve(__dirname, '../..'));
  const outcome = await destroyOrphanedStacks({
    s3: new S3Client({ region: config.region }),
    bucket: config.stateBucket,
    prefix: process.env.NAT_STATE_KEY_PREFIX || 'e2e-state/',
    currentKey: config.stateKey,
    deployerFor: (stateKey) => new TerraformDeployer({ ...config, stateKey }),
  });
  console.log(`orphaned states: ${outcome.destroyed.length} destroyed, ${outcome.removed.length} empty ones removed`);
}

main().catch((error: Error) => {
  console.error(`orphan cleanup failed: ${error.message}`);
  process.exit(1);
});
