/**
 * The orphaned-state sweep against doubles: S3 through `aws-sdk-client-mock`, the deployer as a
 * recording double (no Terraform). A build killed before its destroy leaves a state that still
 * lists resources; the next build must destroy them, and never touch its own state.
 */
import { mockClient } from 'aws-sdk-client-mock';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { destroyOrphanedStacks } from '../../test/e2e/orphaned-states';
import { StackDeployer } from '../../test/e2e/connectivity-e2e';

const s3 = mockClient(S3Client);
const BUCKET = 'nat-test-state-abc';

/** State files by key: `true` = still lists resources. */
function stateBucket(states: Record<string, boolean>, pageSize = 100) {
  s3.reset();
  const keys = Object.keys(states);
  s3.on(ListObjectsV2Command).callsFake((input) => {
    const start = input.ContinuationToken ? Number(input.ContinuationToken) : 0;
    const page = keys.slice(start, start + pageSize);
    const more = start + pageSize < keys.length;
    return {
      Contents: page.map((Key) => ({ Key })),
      IsTruncated: more,
      NextContinuationToken: more ? String(start + pageSize) : undefined,
    };
  });
  s3.on(GetObjectCommand).callsFake((input) => {
    const state = { version: 4, resources: states[input.Key] ? [{ type: 'aws_instance', name: 'x' }] : [] };
    return { Body: { transformToString: async () => JSON.stringify(state) } as never };
  });
  s3.on(DeleteObjectCommand).resolves({});
}

function deployers(failing: string[] = []) {
  const destroyed: string[] = [];
  const deployerFor = (key: string): StackDeployer => ({
    deploy: async () => {
      throw new Error('the sweep must never deploy');
    },
    destroy: async () => {
      if (failing.includes(key)) throw new Error('DependencyViolation');
      destroyed.push(key);
    },
  });
  return { destroyed, deployerFor };
}

const deletedKeys = () => s3.commandCalls(DeleteObjectCommand).map((call) => call.args[0].input.Key);
const sweep = (deployerFor: (key: string) => StackDeployer, currentKey = 'e2e-state/build-9.tfstate') =>
  destroyOrphanedStacks({
    s3: new S3Client({ region: 'eu-central-1' }),
    bucket: BUCKET,
    prefix: 'e2e-state/',
    currentKey,
    deployerFor,
    log: () => {},
  });

test('destroys the resources of a killed build, deletes its state, and removes states that are already empty', async () => {
  stateBucket({ 'e2e-state/build-7.tfstate': true, 'e2e-state/build-8.tfstate': false });
  const { destroyed, deployerFor } = deployers();
  expect(await sweep(deployerFor)).toEqual({ destroyed: ['e2e-state/build-7.tfstate'], removed: ['e2e-state/build-8.tfstate'] });
  expect(destroyed).toEqual(['e2e-state/build-7.tfstate']);
  expect(deletedKeys()).toEqual(['e2e-state/build-7.tfstate', 'e2e-state/build-8.tfstate']);
});

test("never touches the current build's own state, nor other files", async () => {
  stateBucket({ 'e2e-state/build-9.tfstate': true, 'e2e-state/notes.txt': true });
  const { destroyed, deployerFor } = deployers();
  expect(await sweep(deployerFor)).toEqual({ destroyed: [], removed: [] });
  expect(destroyed).toEqual([]);
  expect(deletedKeys()).toEqual([]);
  expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
});

test('a failed destroy keeps that state for the next build, cleans the others, and fails naming the key', async () => {
  stateBucket({ 'e2e-state/build-5.tfstate': true, 'e2e-state/build-6.tfstate': true });
  const { destroyed, deployerFor } = deployers(['e2e-state/build-5.tfstate']);
  await expect(sweep(deployerFor)).rejects.toThrow(
    'could not clean up 1 orphaned state(s): e2e-state/build-5.tfstate: DependencyViolation',
  );
  expect(destroyed).toEqual(['e2e-state/build-6.tfstate']);
  expect(deletedKeys()).toEqual(['e2e-state/build-6.tfstate']);
});

test('reads every page of the listing', async () => {
  const states = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`e2e-state/build-${i}.tfstate`, false]));
  stateBucket(states, 2);
  const { deployerFor } = deployers();
  expect((await sweep(deployerFor, 'e2e-state/build-99.tfstate')).removed).toEqual(Object.keys(states));
  expect(s3.commandCalls(ListObjectsV2Command)).toHaveLength(3);
});
