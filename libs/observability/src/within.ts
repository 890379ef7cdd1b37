/**
 * `work`'s outcome, or `late()`'s error once `ms` have passed without one: a call that would
 * never return (a hung client, a pool that never hands out a connection) must not hold its
 * caller. The work itself is not cancelled; the timer is cleared either way.
 */
export async function within<T>(ms: number, work: Promise<T>, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
