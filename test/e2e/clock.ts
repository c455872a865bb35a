/** Time source of the runner's bounded waits; tests inject a double that never really sleeps. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Calls `attempt` until it returns a value (not undefined), sleeping `intervalMs` between tries;
 * throws `onTimeout()` once `timeoutMs` has passed. The last attempt runs at or after the deadline.
 */
export async function pollUntil<T>(
  clock: Clock,
  timeoutMs: number,
  intervalMs: number,
  attempt: () => Promise<T | undefined>,
  onTimeout: () => Error,
): Promise<T> {
  const deadline = clock.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (clock.now() >= deadline) throw onTimeout();
    await clock.sleep(intervalMs);
  }
}
