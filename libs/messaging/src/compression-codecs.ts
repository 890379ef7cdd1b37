import { Decompress } from 'fzstd';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { uncompress as snappyUncompress } from 'snappyjs';

/**
 * Decoders for the record-batch compressions kafkajs 2.2.4 lacks (it has gzip only). Without
 * them a fetch that returns one batch another client compressed with snappy, lz4 or zstd throws
 * KafkaJSNotImplemented, the consumer crashes, restarts and fetches the same offset again, for
 * good: the batch never reaches a handler, so it cannot even be dead-lettered.
 *
 * paygate produces uncompressed messages, so each codec only decodes. Its output is a Buffer, as
 * kafkajs's record decoder reads it with Buffer methods.
 */

/**
 * The most one record batch may decompress to. A batch is at most the broker's
 * message.max.bytes (1 MiB unless raised) compressed; real batches expand a few times, and even
 * very repetitive JSON some tens of times. The limit keeps a batch that claims gigabytes (a
 * forged length or window) from taking the process's memory; such a batch fails to decode.
 */
export const MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

function tooLarge(codec: string, limit: number): Error {
  return new Error(`${codec} record batch decompresses to more than ${limit} bytes`);
}

function decodeOnly(codec: string): () => never {
  return () => {
    throw new Error(
      `paygate does not produce ${codec}-compressed messages: it only decodes those of other ` +
        'producers (produce uncompressed or gzip)',
    );
  };
}

// --- snappy ----------------------------------------------------------------------------------

/**
 * The Java client (snappy-java's SnappyOutputStream) frames snappy as xerial does: this magic,
 * two big-endian int32 versions, then blocks of [int32 big-endian length][raw snappy block].
 * librdkafka and kafkajs-snappy write one raw snappy block; either may arrive.
 */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;

export function snappyDecompress(buffer: Buffer, limit = MAX_DECOMPRESSED_BYTES): Buffer {
  if (
    buffer.length < XERIAL_HEADER_BYTES ||
    !buffer.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)
  ) {
    return snappyUncompress(buffer, limit);
  }
  const blocks: Buffer[] = [];
  let total = 0;
  let pos = XERIAL_HEADER_BYTES;
  while (pos < buffer.length) {
    if (pos + 4 > buffer.length) throw new Error('truncated xerial snappy block length');
    const length = buffer.readInt32BE(pos);
    pos += 4;
    if (length < 0 || pos + length > buffer.length)
      throw new Error('truncated xerial snappy block');
    const block = snappyUncompress(buffer.subarray(pos, pos + length), limit - total);
    pos += length;
    total += block.length;
    blocks.push(block);
  }
  return Buffer.concat(blocks, total);
}

// --- lz4 -------------------------------------------------------------------------------------

/*
 * An LZ4 frame decoder (lz4_Frame_format.md and lz4_Block_format.md in github.com/lz4/lz4),
 * written here because no maintained pure-JS one exists: lz4js, the usual choice, has had no
 * release since 2018 and decodes a corrupt block into silent garbage (it checks no bounds).
 * Every read and back-reference here is bounds-checked, and a bad frame throws. The xxHash32
 * checksums are not verified: the broker has checked the batch's CRC on produce.
 */
const LZ4_MAGIC = 0x184d2204;
const LZ4_SKIPPABLE_MASK = 0xfffffff0;
const LZ4_SKIPPABLE_MAGIC = 0x184d2a50;
const LZ4_BLOCK_MAX_SIZES: Record<number, number> = {
  4: 64 * 1024,
  5: 256 * 1024,
  6: 1024 * 1024,
  7: 4 * 1024 * 1024,
};
const LZ4_UNCOMPRESSED_BIT = 0x80000000;
const LZ4_MIN_MATCH = 4;

/** The decoded bytes, grown as blocks arrive (a frame need not say its content size). */
class Output {
  buffer: Buffer;
  length = 0;

  constructor(
    capacity: number,
    readonly limit: number,
  ) {
    this.buffer = Buffer.allocUnsafe(Math.min(capacity, limit));
  }

  /** Makes room for `extra` more bytes. */
  reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buffer.length) return;
    if (needed > this.limit) throw tooLarge('lz4', this.limit);
    const grown = Buffer.allocUnsafe(
      Math.min(this.limit, Math.max(needed, this.buffer.length * 2)),
    );
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}

function lz4Corrupt(what: string): Error {
  return new Error(`corrupt lz4 frame: ${what}`);
}

/**
 * Decodes the block in src[start, end) onto out, writing at most `room` bytes (the block maximum
 * size, or what is left of the limit). A match may reach back to `floor` (the block's start when
 * blocks are independent, else the frame's).
 */
function lz4DecodeBlock(
  src: Buffer,
  start: number,
  end: number,
  out: Output,
  room: number,
  floor: number,
): void {
  const dst = out.buffer;
  const stop = out.length + room;
  const overrun = () =>
    stop === out.limit
      ? tooLarge('lz4', out.limit)
      : lz4Corrupt('block decodes past its maximum size');
  let s = start;
  let d = out.length;
  for (;;) {
    if (s >= end) throw lz4Corrupt('block ends inside a sequence');
    const token = src[s++];
    let literals = token >>> 4;
    if (literals === 15) {
      let byte: number;
      do {
        if (s >= end) throw lz4Corrupt('literal length runs past the block');
        byte = src[s++];
        literals += byte;
      } while (byte === 255);
    }
    if (s + literals > end) throw lz4Corrupt('literals run past the block');
    if (d + literals > stop) throw overrun();
    src.copy(dst, d, s, s + literals);
    s += literals;
    d += literals;
    // The last sequence has literals only.
    if (s === end) break;
    if (s + 2 > end) throw lz4Corrupt('match offset runs past the block');
    const offset = src[s] | (src[s + 1] << 8);
    s += 2;
    if (offset === 0 || d - offset < floor) throw lz4Corrupt('match offset out of range');
    let length = token & 15;
    if (length === 15) {
      let byte: number;
      do {
        if (s >= end) throw lz4Corrupt('match length runs past the block');
        byte = src[s++];
        length += byte;
      } while (byte === 255);
    }
    length += LZ4_MIN_MATCH;
    if (d + length > stop) throw overrun();
    let from = d - offset;
    if (offset >= length) {
      dst.copyWithin(d, from, from + length);
      d += length;
    } else {
      // Overlapping: the match repeats bytes it is itself writing, so byte by byte.
      for (const last = d + length; d < last;) dst[d++] = dst[from++];
    }
  }
  out.length = d;
}

/** Decodes the frame that starts at src[pos] onto out; returns the position after it. */
function lz4DecodeFrame(src: Buffer, pos: number, out: Output): number {
  if (pos + 7 > src.length) throw lz4Corrupt('truncated frame header');
  const flags = src[pos + 4];
  const blockDescriptor = src[pos + 5];
  if (flags >>> 6 !== 1) throw lz4Corrupt(`unsupported version ${flags >>> 6}`);
  if (flags & 0x02 || blockDescriptor & 0x8f) throw lz4Corrupt('reserved bits set');
  if (flags & 0x01) throw new Error('lz4 frames with a dictionary are not supported');
  const independent = (flags & 0x20) !== 0;
  const blockChecksums = (flags & 0x10) !== 0;
  const hasContentSize = (flags & 0x08) !== 0;
  const contentChecksum = (flags & 0x04) !== 0;
  const maxBlockSize = LZ4_BLOCK_MAX_SIZES[blockDescriptor >>> 4];
  if (maxBlockSize === undefined) throw lz4Corrupt('invalid block maximum size');
  pos += 6;
  const frameStart = out.length;
  let contentSize: number | undefined;
  if (hasContentSize) {
    if (pos + 8 > src.length) throw lz4Corrupt('truncated content size');
    const size = src.readBigUInt64LE(pos);
    if (size > BigInt(out.limit - frameStart)) throw tooLarge('lz4', out.limit);
    contentSize = Number(size);
    out.reserve(contentSize);
    pos += 8;
  }
  // The header checksum byte is skipped, not checked: Kafka before 0.10 computed it wrongly
  // (KAFKA-3160) and still writes it so for the old message formats.
  pos += 1;
  for (;;) {
    if (pos + 4 > src.length) throw lz4Corrupt('truncated block size');
    const word = src.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break;
    const size = (word & ~LZ4_UNCOMPRESSED_BIT) >>> 0;
    if (size > maxBlockSize) throw lz4Corrupt('block larger than its maximum size');
    if (pos + size > src.length) throw lz4Corrupt('truncated block');
    if (word & LZ4_UNCOMPRESSED_BIT) {
      out.reserve(size);
      src.copy(out.buffer, out.length, pos, pos + size);
      out.length += size;
    } else {
      // Room for the most a block may hold, or for what is left of the limit.
      const room = Math.min(maxBlockSize, out.limit - out.length);
      out.reserve(room);
      lz4DecodeBlock(src, pos, pos + size, out, room, independent ? out.length : frameStart);
    }
    pos += size + (blockChecksums ? 4 : 0);
  }
  pos += contentChecksum ? 4 : 0;
  if (pos > src.length) throw lz4Corrupt('truncated checksum');
  if (contentSize !== undefined && out.length - frameStart !== contentSize) {
    throw lz4Corrupt('content size does not match the decoded bytes');
  }
  return pos;
}

export function lz4Decompress(buffer: Buffer, limit = MAX_DECOMPRESSED_BYTES): Buffer {
  const out = new Output(Math.max(64, buffer.length * 4), limit);
  let pos = 0;
  // Frames may follow one another, and skippable frames may come between (the format says so).
  do {
    if (pos + 4 > buffer.length) throw lz4Corrupt('truncated magic number');
    const magic = buffer.readUInt32LE(pos);
    if (magic === LZ4_MAGIC) {
      pos = lz4DecodeFrame(buffer, pos, out);
    } else if ((magic & LZ4_SKIPPABLE_MASK) >>> 0 === LZ4_SKIPPABLE_MAGIC) {
      if (pos + 8 > buffer.length) throw lz4Corrupt('truncated skippable frame');
      pos += 8 + buffer.readUInt32LE(pos + 4);
      if (pos > buffer.length) throw lz4Corrupt('truncated skippable frame');
    } else {
      throw lz4Corrupt('bad magic number');
    }
  } while (pos < buffer.length);
  return out.buffer.subarray(0, out.length);
}

// --- zstd ------------------------------------------------------------------------------------

/**
 * fzstd's streaming decoder, so that the running total is checked block by block (its one-shot
 * decompress allocates whatever the frame header claims before it decodes anything).
 */
export function zstdDecompress(buffer: Buffer, limit = MAX_DECOMPRESSED_BYTES): Buffer {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const stream = new Decompress((chunk) => {
    total += chunk.length;
    if (total > limit) throw tooLarge('zstd', limit);
    chunks.push(chunk);
  });
  stream.push(buffer, true);
  return Buffer.concat(chunks, total);
}

// --- registration ----------------------------------------------------------------------------

let registered = false;

/**
 * Puts the decoders into kafkajs's codec table, one table per process that every client reads.
 * Idempotent.
 */
export function registerCompressionCodecs(): void {
  if (registered) return;
  CompressionCodecs[CompressionTypes.Snappy] = () => ({
    compress: decodeOnly('snappy'),
    decompress: snappyDecompress,
  });
  CompressionCodecs[CompressionTypes.LZ4] = () => ({
    compress: decodeOnly('lz4'),
    decompress: lz4Decompress,
  });
  CompressionCodecs[CompressionTypes.ZSTD] = () => ({
    compress: decodeOnly('zstd'),
    decompress: zstdDecompress,
  });
  registered = true;
}
