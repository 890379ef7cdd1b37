import { Logger } from '@nestjs/common';
import type { InboundMessage } from '@paygate/messaging';
import { metricsRegistry } from '@paygate/observability';
import type { DataSource } from 'typeorm';
import { MeteringConfig } from '../config/metering.config';
import { CustomerDirectory, isCustomerId } from './customer-directory';

const A = '5b3c7a36-2f1e-4b8e-9a0c-1f7c1d2e3f40';
const B = '0f8e2a4c-6b1d-4e3f-8a9b-7c5d3e1f2a4b';

let offset = 0;
const message = (value: string): InboundMessage => ({
  topic: 't',
  partition: 0,
  offset: String(offset++),
  key: null,
  value: Buffer.from(value),
  headers: {},
  timestamp: '0',
});
const created = (customerId: unknown) =>
  message(JSON.stringify({ id: 'x', customerId, reason: 'customer-created', occurredAt: 'now' }));

/** The directory's handle, with what it hands to announce recorded (nothing reaches a database). */
function directory() {
  const d = new CustomerDirectory({} as DataSource, new MeteringConfig());
  const announced: string[][] = [];
  jest.spyOn(d, 'announce').mockImplementation(async (ids) => {
    announced.push(ids);
    return 0;
  });
  const handle = (messages: InboundMessage[]) =>
    (d as unknown as { handle(m: InboundMessage[]): Promise<void> }).handle(messages);
  return { handle, announced };
}

async function skippedCount(reason: string): Promise<number> {
  const metric = await metricsRegistry
    .getSingleMetric('paygate_metering_customer_events_skipped_total')
    ?.get();
  return metric?.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe('isCustomerId', () => {
  it('takes the UUIDs entitlement makes, in either case, and nothing else', () => {
    expect(isCustomerId(A)).toBe(true);
    expect(isCustomerId(A.toUpperCase())).toBe(true);
    for (const bad of ['', 'cust-1', `${A}\u0000`, 'x'.repeat(3000), `${A} `, 42, null])
      expect(isCustomerId(bad)).toBe(false);
  });
});

describe('CustomerDirectory.handle', () => {
  it('skips ids that are no customer (logged, counted), announcing the rest', async () => {
    const { handle, announced } = directory();
    const warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const first = offset;
    const before = await skippedCount('invalid-customer-id');
    const unreadable = await skippedCount('unreadable');
    await handle([
      created(`a\u0000b`),
      created('y'.repeat(3000)),
      created(A),
      message('not json'),
      // Other reasons are not announcements, whatever they name.
      message(JSON.stringify({ id: 'y', customerId: 'z', reason: 'customer-changed' })),
      created(B),
    ]);
    expect(announced).toEqual([[A, B]]);
    // Each skipped one is logged with where it is, its id escaped and cut short.
    expect(warned.mock.calls.map(([context]) => (context as { offset: string }).offset)).toEqual(
      [first, first + 1, first + 3].map(String),
    );
    expect(warned.mock.calls[0][0]).toMatchObject({ customerId: '"a\\u0000b"' });
    expect(String((warned.mock.calls[1][0] as { customerId: string }).customerId)).toHaveLength(67);
    warned.mockRestore();
    expect(await skippedCount('invalid-customer-id')).toBe(before + 2);
    expect(await skippedCount('unreadable')).toBe(unreadable + 1);
  });
});
