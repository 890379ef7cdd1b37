/**
 * Runs `work` every `intervalMs` in the background, for sweeps and pruning. The timer is
 * unref'd (it never keeps a process alive), and a failed run goes to `onError` while the next
 * one goes ahead. Returns the function that stops it.
 */
export function every(
  intervalMs: number,
  work: () => Promise<unknown>,
  onError: (err: unknown) => void,
): () => void {
  const timer = setInterval(() => {
    work().catch(onError);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
