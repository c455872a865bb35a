/** A lab that creates its namespaces in `build` and removes everything it created in `teardown`. */
export interface BuildableLab {
  build(): Promise<void>;
  teardown(): void;
}

/**
 * Registers `lab` in `live` first (so a test that times out while building still gets cleaned up
 * by the file's teardown), then builds it; on a build failure everything already created is
 * removed before the error propagates.
 */
export async function buildRegistered<T extends BuildableLab>(lab: T, live: Set<T>): Promise<T> {
  live.add(lab);
  try {
    await lab.build();
  } catch (error) {
    lab.teardown();
    live.delete(lab);
    throw error;
  }
  return lab;
}
