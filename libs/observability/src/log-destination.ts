import { destination, type DestinationStream } from 'pino';

/** How often gathered log lines are written out when fewer than `bufferBytes` came. */
export const LOG_FLUSH_MS = 1_000;
/** The most bytes one write carries: a write to a pipe of up to PIPE_BUF (4,096) is atomic. */
export const MAX_WRITE_BYTES = 4_096;
/** Lines waiting while the output takes nothing (a stuck pipe) before further ones are dropped. */
export const MAX_WAITING_BYTES = 16 * 1024 * 1024;

/** A write that has not completed for this long means the output takes nothing (stuck). */
export const STUCK_MS = 1_000;

type Destination = ReturnType<typeof destination>;
/** Buffered destinations of this process, and when each last completed a write. */
const buffered = new Map<Destination, { lastWriteAt: number }>();
// Registered when this module loads, before pino registers its own exit flush (with the first
// buffered destination), so it runs first. pino's flush writes synchronously and, on a stuck
// output (a pipe nobody reads), waits for it forever: a process told to stop would never exit.
// So a destination whose write has been stuck for STUCK_MS is given up on (what waits is lost)
// and destroyed, which leaves pino's flush nothing to do; the others are written out as pino
// would. `_writing` is sonic-boom's own flag (the spec checks this against the version used).
process.once('exit', () => {
  const now = Date.now();
  for (const [stream, { lastWriteAt }] of buffered) {
    const writing = (stream as unknown as { _writing?: boolean })._writing === true;
    if (writing && now - lastWriteAt >= STUCK_MS) stream.destroy();
  }
});

export interface LogDestinationOptions {
  /** File descriptor written to; standard output by default. */
  fd?: number;
  /** A line was dropped because MAX_WAITING_BYTES were already waiting. */
  onDrop?: () => void;
}

/**
 * Where a service's JSON log lines go. With `bufferBytes` > 0, lines are gathered and one write
 * carries many, written off the event loop: once `bufferBytes` wait, at least every
 * LOG_FLUSH_MS, and at exit (unless the output has been stuck for STUCK_MS: then what waits is
 * lost rather than the exit). Each write is
 * at most MAX_WRITE_BYTES of whole lines. While the output takes nothing, the service goes on
 * and memory stays bounded: lines past MAX_WAITING_BYTES are dropped and reported to `onDrop`.
 * With 0, every line is written synchronously as it is logged (and a stuck output stalls the
 * service).
 */
export function logDestination(
  bufferBytes: number,
  { fd = 1, onDrop }: LogDestinationOptions = {},
): DestinationStream {
  if (bufferBytes <= 0) return destination({ dest: fd, sync: true });
  // Opening process.stdout makes libuv put a pipe on fd 1 in non-blocking mode. Otherwise a
  // write to a pipe nobody reads blocks a threadpool thread for good, and a process cannot
  // exit while one of its threadpool threads is blocked: with it, the write fails with EAGAIN
  // and is retried later.
  if (fd === 1) void process.stdout;
  const stream = destination({
    dest: fd,
    sync: false,
    minLength: Math.min(bufferBytes, MAX_WRITE_BYTES - 1),
    maxWrite: MAX_WRITE_BYTES,
    maxLength: MAX_WAITING_BYTES,
    periodicFlush: LOG_FLUSH_MS,
  });
  const progress = { lastWriteAt: Date.now() };
  buffered.set(stream, progress);
  stream.on('write', () => (progress.lastWriteAt = Date.now()));
  if (onDrop) stream.on('drop', onDrop);
  return stream;
}
