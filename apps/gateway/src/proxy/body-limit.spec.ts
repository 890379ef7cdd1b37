import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BodyLimit, BodyTooLargeError } from './body-limit';

const collect = async (chunks: string[], limit: number) => {
  const out: Buffer[] = [];
  const limiter = new BodyLimit(limit);
  const result = pipeline(Readable.from(chunks.map((c) => Buffer.from(c))), limiter, async (s) => {
    for await (const chunk of s) out.push(chunk as Buffer);
  });
  return { result, limiter, out };
};

describe('BodyLimit', () => {
  it('passes a body up to the limit through unchanged', async () => {
    const { result, limiter, out } = await collect(['abc', 'def'], 6);
    await result;
    expect(Buffer.concat(out).toString()).toBe('abcdef');
    expect(limiter.exceeded).toBe(false);
  });

  it('fails past the limit and says so', async () => {
    const { result, limiter } = await collect(['abc', 'def', 'g'], 6);
    await expect(result).rejects.toBeInstanceOf(BodyTooLargeError);
    expect(limiter.exceeded).toBe(true);
  });
});
