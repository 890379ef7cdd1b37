import fc from 'fast-check';
import { CompressionTypes } from 'kafkajs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compress as snappyCompress } from 'snappyjs';
import { lz4Decompress, snappyDecompress, zstdDecompress } from './compression-codecs';
import { createKafka } from './kafka';

/**
 * The fixtures in compression-fixtures/ are sample() compressed by the writers other producers
 * use, once, on a developer machine:
 * - kafka-java.{snappy,lz4,zstd}: kafka-clients 3.9.1's own compressors, as a Java producer
 *   writes a record batch (`Compression.of(type).build().wrapForOutput(out, (byte) 2)`;
 *   snappy-java 1.1.10.5 in xerial framing, lz4-java 1.8.0, zstd-jni 1.5.6-4);
 * - lz4-cli-linked-checksums.lz4: the lz4 1.9.4 CLI, `lz4 -B4 -BD -BX --content-size` (linked
 *   blocks, block and content checksums, content size: all that Kafka's writer leaves out);
 * - zstd-cli-two-frames.zst: the zstd 1.5.4 CLI, the first 30000 bytes from a file (content
 *   size, checksum) and the rest from a pipe (no content size), one frame after the other.
 * No maintained pure-JS compressor exists for lz4 or zstd, so the tests read real bytes instead.
 */
const fixture = (name: string) => readFileSync(join(__dirname, 'compression-fixtures', name));

/** 70 kB of usage-like JSON lines, then 1 kB that does not compress (deterministic). */
function sample(): Buffer {
  let x = 0x9e3779b9;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  const lines: string[] = [];
  let length = 0;
  for (let n = 0; length < 70_000; n++) {
    const line = `{"id":"evt-${n}","subject":"cus_${next() % 40}","units":${next() % 9}}\n`;
    lines.push(line);
    length += line.length;
  }
  const noise = Buffer.alloc(1024);
  for (let i = 0; i < noise.length; i++) noise[i] = next() & 0xff;
  return Buffer.concat([Buffer.from(lines.join('')), noise]);
}

const SAMPLE = sample();

/** snappy-java's stream header: magic, version 1, compatible version 1. */
const XERIAL_HEADER = Buffer.from('82534e41505059000000000100000001', 'hex');

/** The xerial framing snappy-java writes, around blocks snappyjs compresses. */
function xerialFramed(data: Buffer, blockSize: number): Buffer {
  const parts: Buffer[] = [XERIAL_HEADER];
  for (let at = 0; at < data.length; at += blockSize) {
    const block = snappyCompress(data.subarray(at, at + blockSize));
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

/** An LZ4 frame of one block stored uncompressed, as writers store what does not compress. */
function storedLz4Frame(data: Buffer): Buffer {
  // Version 1, independent blocks, 64 kB maximum; 0x82 is this descriptor's header checksum.
  const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]);
  const size = Buffer.alloc(4);
  size.writeUInt32LE((0x80000000 | data.length) >>> 0);
  return Buffer.concat([header, size, data, Buffer.alloc(4)]);
}

/** A skippable frame, which an LZ4 reader passes over. */
function skippableFrame(data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0x184d2a5a, 0);
  head.writeUInt32LE(data.length, 4);
  return Buffer.concat([head, data]);
}

describe('snappy', () => {
  it('decodes a raw block, as librdkafka and kafkajs-snappy write it', () => {
    const compressed = snappyCompress(SAMPLE);
    expect(compressed.length).toBeLessThan(SAMPLE.length / 2);
    expect(snappyDecompress(compressed).equals(SAMPLE)).toBe(true);
  });

  it('decodes xerial framing of several blocks, as the Java client writes it', () => {
    expect(snappyDecompress(xerialFramed(SAMPLE, 32 * 1024)).equals(SAMPLE)).toBe(true);
    expect(snappyDecompress(fixture('kafka-java.snappy')).equals(SAMPLE)).toBe(true);
  });

  it('refuses to decompress past the limit', () => {
    expect(() => snappyDecompress(snappyCompress(SAMPLE), 1000)).toThrow(/too big/);
    expect(() => snappyDecompress(fixture('kafka-java.snappy'), 40_000)).toThrow(/too big/);
  });

  it('refuses a truncated xerial block', () => {
    const framed = fixture('kafka-java.snappy');
    expect(() => snappyDecompress(framed.subarray(0, framed.length - 10))).toThrow(/truncated/);
  });
});

describe('lz4', () => {
  it('decodes the frames the Java client writes (independent 64 kB blocks)', () => {
    expect(lz4Decompress(fixture('kafka-java.lz4')).equals(SAMPLE)).toBe(true);
  });

  it('decodes linked blocks with checksums and a content size (lz4 CLI)', () => {
    expect(lz4Decompress(fixture('lz4-cli-linked-checksums.lz4')).equals(SAMPLE)).toBe(true);
  });

  it("accepts the wrong header checksum of Kafka's old message formats (KAFKA-3160)", () => {
    const frame = Buffer.from(fixture('kafka-java.lz4'));
    // What kafka-clients writes for this descriptor with magic 0 instead of 0x82.
    frame[6] = 0x1a;
    expect(lz4Decompress(frame).equals(SAMPLE)).toBe(true);
  });

  it('decodes stored blocks, frames one after another and skippable frames', () => {
    const noise = SAMPLE.subarray(SAMPLE.length - 1024);
    const input = Buffer.concat([
      fixture('kafka-java.lz4'),
      skippableFrame(Buffer.from('ignored')),
      storedLz4Frame(noise),
    ]);
    expect(lz4Decompress(input).equals(Buffer.concat([SAMPLE, noise]))).toBe(true);
  });

  it('refuses a match that reaches before its block when blocks are said to be independent', () => {
    const frame = Buffer.from(fixture('lz4-cli-linked-checksums.lz4'));
    frame[4] |= 0x20;
    expect(() => lz4Decompress(frame)).toThrow(/match offset out of range/);
  });

  it('refuses to decompress past the limit', () => {
    expect(() => lz4Decompress(fixture('kafka-java.lz4'), 1000)).toThrow(/more than 1000 bytes/);
    // The content size alone is enough to refuse.
    expect(() => lz4Decompress(fixture('lz4-cli-linked-checksums.lz4'), 1000)).toThrow(
      /more than 1000 bytes/,
    );
  });

  it('refuses malformed frames', () => {
    const frame = fixture('kafka-java.lz4');
    expect(() => lz4Decompress(Buffer.from('not lz4 at all'))).toThrow(/bad magic number/);
    expect(() => lz4Decompress(frame.subarray(0, 5))).toThrow(/truncated/);
    expect(() => lz4Decompress(frame.subarray(0, frame.length - 100))).toThrow(/truncated/);
    // A block whose only sequence has a zero match offset.
    const zeroOffset = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]);
    const block = Buffer.from([0x10, 0x61, 0x00, 0x00, 0x00]);
    const size = Buffer.from([block.length, 0, 0, 0]);
    expect(() => lz4Decompress(Buffer.concat([zeroOffset, size, block, Buffer.alloc(4)]))).toThrow(
      /match offset out of range/,
    );
  });

  it('throws an Error, or returns, for any corruption of a real frame', () => {
    const frame = fixture('kafka-java.lz4');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(frame.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.nat(frame.length),
        (edits, cut) => {
          const corrupt = Buffer.from(frame.subarray(0, Math.max(cut, 7)));
          for (const [at, byte] of edits) if (at < corrupt.length) corrupt[at] = byte;
          let decoded: unknown;
          try {
            decoded = lz4Decompress(corrupt);
          } catch (err) {
            expect(err).toBeInstanceOf(Error);
            return;
          }
          expect(Buffer.isBuffer(decoded)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('zstd', () => {
  it('decodes a frame the Java client writes (zstd-jni, streamed: no content size)', () => {
    expect(zstdDecompress(fixture('kafka-java.zstd')).equals(SAMPLE)).toBe(true);
  });

  it('decodes frames one after another, with and without content size (zstd CLI)', () => {
    expect(zstdDecompress(fixture('zstd-cli-two-frames.zst')).equals(SAMPLE)).toBe(true);
  });

  it('refuses to decompress past the limit', () => {
    expect(() => zstdDecompress(fixture('kafka-java.zstd'), 1000)).toThrow(/more than 1000 bytes/);
  });

  it('refuses truncated data', () => {
    const frame = fixture('kafka-java.zstd');
    expect(() => zstdDecompress(frame.subarray(0, frame.length - 100))).toThrow();
  });
});

describe('kafkajs codecs registered by createKafka', () => {
  // kafkajs's own codec table, which its fetch decoders consult for each compressed batch.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { lookupCodec } = require('kafkajs/src/protocol/message/compression') as {
    lookupCodec(type: CompressionTypes): {
      compress(encoder: { buffer: Buffer }): Promise<Buffer>;
      decompress(buffer: Buffer): Promise<Buffer> | Buffer;
    };
  };
  const compressed: [CompressionTypes, Buffer][] = [
    [CompressionTypes.Snappy, fixture('kafka-java.snappy')],
    [CompressionTypes.LZ4, fixture('kafka-java.lz4')],
    [CompressionTypes.ZSTD, fixture('kafka-java.zstd')],
  ];

  it('decode snappy, lz4 and zstd, which kafkajs alone refuses', async () => {
    for (const [type] of compressed) {
      expect(() => lookupCodec(type)).toThrow(/not implemented/);
    }
    createKafka('codecs-spec', ['127.0.0.1:9']);
    for (const [type, bytes] of compressed) {
      const decoded = await lookupCodec(type).decompress(bytes);
      expect(Buffer.isBuffer(decoded) && decoded.equals(SAMPLE)).toBe(true);
    }
  });

  it('say that paygate does not produce those compressions', async () => {
    createKafka('codecs-spec', ['127.0.0.1:9']);
    for (const [type] of compressed) {
      await expect((async () => lookupCodec(type).compress({ buffer: SAMPLE }))()).rejects.toThrow(
        /paygate does not produce (snappy|lz4|zstd)-compressed messages/,
      );
    }
  });
});
