/**
 * kafkajs's record decoder as patches/kafkajs+2.2.4.patch leaves it (applied by patch-package on
 * install): a record's headers are gathered in one pass. Unpatched, it copied the whole headers
 * object once per header (40k headers in one message blocked the event loop for minutes), and
 * read a header named like an Object.prototype member (__proto__, constructor) as repeated.
 */
import { headersOf } from './message-headers';

/* eslint-disable @typescript-eslint/no-require-imports */
const Encoder = require('kafkajs/src/protocol/encoder') as new () => KafkaEncoder;
const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => unknown;
const decodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/decoder') as (
  decoder: unknown,
  batchContext: { firstOffset: string; firstTimestamp: string },
) => { value: Buffer | null; headers: Record<string, unknown> };
/* eslint-enable @typescript-eslint/no-require-imports */

interface KafkaEncoder {
  buffer: Buffer;
  writeInt8(value: number): KafkaEncoder;
  writeVarInt(value: number): KafkaEncoder;
  writeVarLong(value: number): KafkaEncoder;
  writeVarIntString(value: string): KafkaEncoder;
  writeVarIntBytes(value: Buffer | null): KafkaEncoder;
}

/** A record's bytes as the broker sends them, with these headers in this order. */
function recordWith(headers: [string, string | null][]): Buffer {
  const encoder = new Encoder()
    .writeInt8(0)
    .writeVarLong(0)
    .writeVarInt(0)
    .writeVarIntBytes(Buffer.from('key'))
    .writeVarIntBytes(Buffer.from('{}'))
    .writeVarInt(headers.length);
  for (const [name, value] of headers) {
    encoder.writeVarIntString(name);
    encoder.writeVarIntBytes(value === null ? null : Buffer.from(value));
  }
  return encoder.buffer;
}

function decodedHeaders(headers: [string, string | null][]): Record<string, unknown> {
  return decodeRecord(new Decoder(recordWith(headers)), { firstOffset: '0', firstTimestamp: '0' })
    .headers;
}

/** Header values as text, null kept, so that expectations read plainly. */
function asText(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asText);
  return Buffer.isBuffer(value) ? value.toString() : value;
}

describe('kafkajs record headers (patched)', () => {
  it('keeps a single header as its value and a repeated one as the array of its values', () => {
    const headers = decodedHeaders([
      ['ce_id', 'evt-1'],
      ['trace', 'a'],
      ['trace', null],
      ['trace', 'c'],
      ['gone', null],
      ['twice', 'x'],
      ['twice', 'y'],
    ]);
    expect(Object.keys(headers)).toEqual(['ce_id', 'trace', 'gone', 'twice']);
    expect(Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, asText(v)]))).toEqual({
      ce_id: 'evt-1',
      trace: ['a', null, 'c'],
      gone: null,
      twice: ['x', 'y'],
    });
  });

  it('takes a header named __proto__ as a header, not as the prototype', () => {
    const headers = decodedHeaders([
      ['__proto__', 'not a prototype'],
      ['ce_id', 'evt-2'],
    ]);
    expect(Object.getPrototypeOf(headers)).toBe(Object.prototype);
    expect(Object.keys(headers)).toEqual(['__proto__', 'ce_id']);
    expect(asText(Object.getOwnPropertyDescriptor(headers, '__proto__')?.value)).toBe(
      'not a prototype',
    );
    expect(({} as Record<string, unknown>)['not a prototype']).toBeUndefined();
  });

  it('does not read a header named like an Object member as a repeated one', () => {
    const headers = decodedHeaders([
      ['constructor', 'c'],
      ['toString', 't'],
      ['hasOwnProperty', 'h'],
      ['__proto__', 'p'],
    ]);
    // Unpatched: [Object, <c>], [Function toString, <t>], ... (the inherited value came first).
    expect(Object.entries(headers).map(([k, v]) => [k, asText(v)])).toEqual([
      ['constructor', 'c'],
      ['toString', 't'],
      ['hasOwnProperty', 'h'],
      ['__proto__', 'p'],
    ]);
  });

  it('hands headersOf an object it reads as before', () => {
    const raw = decodedHeaders([
      ['ce_id', 'evt-3'],
      ['ce_id', 'evt-4'],
      ['__proto__', 'p'],
      ['constructor', 'c'],
    ]);
    expect(headersOf(raw)).toEqual({
      headers: { ce_id: 'evt-3', ['__proto__']: 'p', constructor: 'c' },
      undecodable: [],
    });
  });

  it('decodes many headers into one object with every one of them', () => {
    const many = Array.from({ length: 5000 }, (_, i): [string, string] => [`h${i % 2500}`, `${i}`]);
    const headers = decodedHeaders(many);
    expect(Object.keys(headers)).toHaveLength(2500);
    expect(asText(headers.h0)).toEqual(['0', '2500']);
    expect(asText(headers.h2499)).toEqual(['2499', '4999']);
  });
});
