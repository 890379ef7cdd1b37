/**
 * A value now, or later when it needs a remote call or a wait. The proxy's fast paths (a lease
 * held with room, no concurrency or rate limit to ask about) answer without a promise, so the
 * common request makes no microtask hop and allocates no promise for them.
 */
export type MaybePromise<T> = T | Promise<T>;

/** `next` applied to the value: at once when it is there, else once it settles. */
export function andThen<T, R>(
  value: MaybePromise<T>,
  next: (value: T) => MaybePromise<R>,
): MaybePromise<R> {
  return value instanceof Promise ? value.then(next) : next(value);
}
