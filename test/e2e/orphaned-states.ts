import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { StackDeployer } from './connectivity-e2e';

export interface OrphanSweep {
  readonly s3: S3Client;
  readonly bucket: string;
  /** Where the builds keep their state files, e.g. `e2e-state/`. */
  readonly prefix: string;
  /** This build's own state key: never touched by the sweep. */
  readonly currentKey: string;
  /** A deployer bound to another build's state key. */
  readonly deployerFor: (stateKey: string) => StackDeployer;
  readonly log?: (line: string) => void;
}

export interface SweepOutcome {
  /** States that still held resources: destroyed, then deleted. */
  readonly destroyed: string[];
  /** States that were already empty (their build destroyed everything): deleted. */
  readonly removed: string[];
}

/**
 * Cleans up after builds that died before their destroy (CodeBuild skips `finally` on timeout or
 * stop): every other build's state file under the prefix is destroyed if it still lists resources,
 * then deleted. A state whose destroy fails is kept (so the next build tries again) and fails the sweep.
 */
export async function destroyOrphanedStacks(sweep: OrphanSweep): Promise<SweepOutcome> {
  const log = sweep.log ?? ((line: string) => console.log(line));
  const destroyed: string[] = [];
  const removed: string[] = [];
  const failures: string[] = [];
  for (const key of await listStateKeys(sweep)) {
    if (key === sweep.currentKey) continue;
    try {
      if (await holdsResources(sweep, key)) {
        log(`orphaned state ${key} still holds resources: destroying them`);
        await sweep.deployerFor(key).destroy();
        destroyed.push(key);
      } else {
        removed.push(key);
      }
      await sweep.s3.send(new DeleteObjectCommand({ Bucket: sweep.bucket, Key: key }));
    } catch (error) {
      failures.push(`${key}: ${(error as Error).message}`);
    }
  }
  if (failures.length > 0) throw new Error(`could not clean up ${failures.length} orphaned state(s): ${failures.join(' | ')}`);
  return { destroyed, removed };
}

async function listStateKeys(sweep: OrphanSweep): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await sweep.s3.send(new ListObjectsV2Command({ Bucket: sweep.bucket, Prefix: sweep.prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) {
      if (object.Key?.endsWith('.tfstate')) keys.push(object.Key);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** A Terraform state file lists what it manages under `resources`; a destroyed stack leaves it empty. */
async function holdsResources(sweep: OrphanSweep, key: string): Promise<boolean> {
  const object = await sweep.s3.send(new GetObjectCommand({ Bucket: sweep.bucket, Key: key }));
  const text = await object.Body?.transformToString();
  if (text === undefined) throw new Error('empty response body');
  const state = JSON.parse(text) as { resources?: unknown[] };
  return (state.resources ?? []).length > 0;
}
