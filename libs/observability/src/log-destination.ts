import { destination, type DestinationStream } from 'pino';

/** How often gathered log lines are written out when fewer than `bufferBytes` came. */
export const LOG_FLUSH_MS = 1_000;
/** The most bytes one write carries: a write to a pipe of up to PIPE_BUF (4,096) is atomic. */
export const MAX_WRITE_BYTES = 4_096;
/** Lines waiting while the output takes nothing (a stuck pipe) before further ones are dropped. */
export const MAX_WAITING_BYTES = 16 * 1024 * 1024;

export interface LogDestinationOptions {
  /** File descriptor written to; standard output by default. */
  fd?: number;
  /** A line was dropped because MAX_WAITING_BYTES were already waiting. */
  onDrop?: () => void;
}

/**
 * Where a service's JSON log lines go. With `bufferBytes` > 0, lines are gathered and one write
 * carries many, written off the event loop: once `bufferBytes` wait, at least every LOG_FLUSH_MS, and on exit (pino registers the
 * flush for a destination that is not synchronous). Each write is at most MAX_WRITE_BYTES of
 * whole lines. While the output takes nothing, the service goes on and memory stays bounded:
 * lines past MAX_WAITING_BYTES are dropped and reported to `onDrop`. With 0, every line is
 * written synchronously as it is logged (and a stuck output stalls the service).
 */
export function logDestination(
  bufferBytes: number,
  { fd = 1, onDrop }: LogDestinationOptions = {},
): DestinationStream {
  if (bufferBytes <= 0) return destination({ dest: fd, sync: true });
  const stream = destination({
    dest: fd,
    sync: false,
    minLength: Math.min(bufferBytes, MAX_WRITE_BYTES - 1),
    maxWrite: MAX_WRITE_BYTES,
    maxLength: MAX_WAITING_BYTES,
    periodicFlush: LOG_FLUSH_MS,
  });
  if (onDrop) stream.on('drop', onDrop);
  return stream;
}
