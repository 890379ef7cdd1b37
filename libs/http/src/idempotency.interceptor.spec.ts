import type { CallHandler, ExecutionContext } from '@nestjs/common';
import { ProblemException } from '@paygate/problem-details';
import { firstValueFrom, of, throwError } from 'rxjs';
import {
  IdempotencyInterceptor,
  type IdempotencyClaim,
  type IdempotencyStore,
} from './idempotency.interceptor';

/** A store kept in memory: what the interceptor asks of it, and what it leaves behind. */
class MemoryStore implements IdempotencyStore {
  readonly rows = new Map<string, { fingerprint: string; status?: number; body?: unknown }>();
  failComplete = false;
  unfinished = false;

  async claim(key: string, fingerprint: string): Promise<IdempotencyClaim> {
    const row = this.rows.get(key);
    if (!row) {
      this.rows.set(key, { fingerprint });
      return { state: 'new' };
    }
    if (row.fingerprint !== fingerprint) return { state: 'mismatch' };
    if (row.status === undefined) return { state: this.unfinished ? 'unfinished' : 'in-progress' };
    return { state: 'done', status: row.status, body: row.body };
  }
  async complete(key: string, status: number, body: unknown): Promise<void> {
    if (this.failComplete) throw new Error('connection terminated');
    this.rows.set(key, { ...this.rows.get(key)!, status, body });
  }
  async abandon(key: string): Promise<void> {
    if (this.rows.get(key)?.status === undefined) this.rows.delete(key);
  }
}

describe('IdempotencyInterceptor', () => {
  const store = new MemoryStore();
  const interceptor = new IdempotencyInterceptor(store);
  let runs = 0;
  const reply = { statusCode: 201, status: () => reply, header: () => reply };
  const context = (key: string) =>
    ({
      getType: () => 'http',
      switchToHttp: () => ({
        getRequest: () => ({
          method: 'POST',
          url: '/v1/things',
          headers: { 'idempotency-key': key },
          body: { a: 1 },
        }),
        getResponse: () => reply,
      }),
    }) as unknown as ExecutionContext;
  const handler = (outcome: 'ok' | 'fail'): CallHandler => ({
    handle: () => {
      runs++;
      return outcome === 'ok' ? of({ id: runs }) : throwError(() => new Error('refused'));
    },
  });
  const call = (key: string, outcome: 'ok' | 'fail' = 'ok') =>
    firstValueFrom(interceptor.intercept(context(key), handler(outcome)));

  beforeEach(() => {
    runs = 0;
    store.failComplete = false;
    store.unfinished = false;
  });

  it('runs once and replays the first response', async () => {
    expect(await call('a')).toEqual({ id: 1 });
    expect(await call('a')).toEqual({ id: 1 });
    expect(runs).toBe(1);
  });

  it('frees the key when the handler fails, so a retry runs', async () => {
    await expect(call('b', 'fail')).rejects.toThrow('refused');
    expect(await call('b')).toEqual({ id: 2 });
  });

  it('keeps the claim when the response cannot be kept: the request took effect, never run twice', async () => {
    store.failComplete = true;
    await expect(call('c')).rejects.toThrow('connection terminated');
    expect(runs).toBe(1);
    store.failComplete = false;
    await expect(call('c')).rejects.toBeInstanceOf(ProblemException);
    store.unfinished = true;
    const refused = await call('c').catch((err: ProblemException) => err);
    expect(refused).toBeInstanceOf(ProblemException);
    expect((refused as ProblemException).problem).toMatchObject({
      code: 'conflict',
      detail: expect.stringMatching(/did not finish/),
    });
    expect(runs).toBe(1);
  });
});
