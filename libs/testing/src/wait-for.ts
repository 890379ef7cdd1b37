export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** What was seen instead, for the error when it times out: a failing run shows the gap. */
  state?: () => string;
}

/** Polls until `predicate` holds: tests that wait on a broker, a database or a timer. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  { timeoutMs = 30_000, intervalMs = 100, state }: WaitOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) {
      throw new Error(`condition not met in time${state ? ` (${state()})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
