import { Logger } from '@nestjs/common';
import { FixedClock } from '@paygate/clock';
import { ProblemException } from '@paygate/problem-details';
import type { FastifyRequest } from 'fastify';
import { MeteringConfig } from '../config/metering.config';
import type { Meter } from '../meters/meter';
import type { MetersRepository } from '../meters/meters.repository';
import { EventsController } from './events.controller';
import type { EventsPublisher } from './events.publisher';

const request = (contentType: string) =>
  ({ headers: { 'content-type': contentType } }) as FastifyRequest;
/** A binary-mode request: its header lines as sent, and Node's headers of them (joined). */
function binaryRequest(lines: string[]) {
  const headers: Record<string, string> = {};
  for (let i = 0; i < lines.length; i += 2) {
    const name = lines[i].toLowerCase();
    headers[name] =
      headers[name] === undefined ? lines[i + 1] : `${headers[name]}, ${lines[i + 1]}`;
  }
  return { headers, raw: { headers, rawHeaders: lines } } as unknown as FastifyRequest;
}
const event = {
  specversion: '1.0',
  id: 'e1',
  source: 'svc',
  type: 't',
  subject: '00000000-0000-4000-8000-0000000000c1',
  time: '2026-11-25T10:00:00Z',
  data: {},
};
const clock = new FixedClock(new Date('2026-11-25T10:01:00Z'));
const sum: Meter = {
  key: 'units',
  version: 1,
  eventType: 't',
  aggregation: 'sum',
  valuePath: '$.units',
  groupBy: {},
};

/** Meters that appear in the repository only once it is reloaded (made on another instance). */
function meters(afterReload: Meter[] = []) {
  let current: Meter[] = [];
  const repository = {
    reloads: 0,
    forType: (type: string) => current.filter((m) => m.eventType === type),
    reload: async () => {
      repository.reloads += 1;
      current = afterReload;
    },
  };
  return repository;
}

function controller(
  publisher: Pick<EventsPublisher, 'publish'>,
  repository: Pick<MetersRepository, 'forType' | 'reload'> = meters(),
) {
  return new EventsController(
    publisher as EventsPublisher,
    repository as MetersRepository,
    new MeteringConfig(),
    clock,
  );
}

const recording = () => {
  const published: unknown[] = [];
  return {
    published,
    publish: async (events: unknown[]) => void published.push(...events),
  };
};

describe('EventsController', () => {
  it('answers 503 with Retry-After, not 500, when Kafka does not acknowledge', async () => {
    const refused = await controller({ publish: () => Promise.reject(new Error('broker down')) })
      .publish(request('application/cloudevents+json'), event)
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ProblemException);
    expect((refused as ProblemException).problem).toMatchObject({
      code: 'service-unavailable',
      headers: { 'retry-after': '1' },
    });
  });

  it('hands every event of a valid batch to the publisher before answering', async () => {
    const publisher = recording();
    const answer = await controller(publisher).publish(
      request('application/cloudevents-batch+json'),
      [event, { ...event, id: 'e2' }],
    );
    expect(answer).toEqual({ accepted: 2 });
    expect(publisher.published).toHaveLength(2);
  });

  it('refuses the whole batch when one event is too old, publishing none of it', async () => {
    const publisher = recording();
    const refused = await controller(publisher)
      .publish(request('application/cloudevents-batch+json'), [
        event,
        { ...event, id: 'e2', time: '2026-11-22T10:00:59Z' },
        { ...event, id: 'e3', time: '2026-11-25T10:06:01Z' },
      ])
      .catch((err: unknown) => err);
    expect((refused as ProblemException).problem).toEqual({
      code: 'validation-failed',
      variant: 'events-refused',
      extensions: {
        errors: [
          {
            field: '[1].time',
            messages: ['time 2026-11-22T10:00:59Z is older than the late-event window of 72 h'],
          },
          {
            field: '[2].time',
            messages: ['time 2026-11-25T10:06:01Z is more than 300 s in the future'],
          },
        ],
      },
    });
    expect(publisher.published).toEqual([]);
  });

  it('keeps the generic detail for a wrong envelope', async () => {
    const refused = await controller(recording())
      .publish(request('application/cloudevents-batch+json'), event)
      .catch((err: unknown) => err);
    expect((refused as ProblemException).problem).toMatchObject({
      code: 'validation-failed',
      variant: undefined,
      extensions: {
        errors: [
          { field: 'body', messages: ['application/cloudevents-batch+json must be a JSON array'] },
        ],
      },
    });
  });

  it('refuses a binary-mode event whose ce- header is given twice, naming it, publishing nothing', async () => {
    const publisher = recording();
    const lines = [
      'content-type',
      'application/json',
      ...['ce-specversion', '1.0', 'ce-id', 'a1', 'ce-id', 'a2', 'ce-source', 'svc'],
      ...[
        'ce-type',
        't',
        'ce-subject',
        '00000000-0000-4000-8000-0000000000c1',
        'ce-time',
        '2026-11-25T10:00:00Z',
      ],
    ];
    const refused = await controller(publisher)
      .publish(binaryRequest(lines), { units: 1 })
      .catch((err: unknown) => err);
    expect((refused as ProblemException).problem).toEqual({
      code: 'validation-failed',
      extensions: { errors: [{ field: 'ce-id', messages: ['must be sent once'] }] },
    });
    expect(publisher.published).toEqual([]);
    // Sent once, the same event is taken.
    const once = lines.filter((_, i) => i !== 6 && i !== 7);
    await expect(controller(publisher).publish(binaryRequest(once), { units: 1 })).resolves.toEqual(
      { accepted: 1 },
    );
    expect(publisher.published).toEqual([
      expect.objectContaining({ id: 'a1', data: { units: 1 } }),
    ]);
  });

  it('accepts an empty batch, and publishes nothing', async () => {
    const published = recording();
    await expect(
      controller(published).publish(request('application/cloudevents-batch+json'), []),
    ).resolves.toEqual({ accepted: 0 });
    expect(published.published).toEqual([]);
  });

  it('reloads the meters once before trusting an unknown type, and refuses by the fresh ones', async () => {
    const repository = meters([sum, { ...sum, key: 'units_too' }]);
    const refused = await controller(recording(), repository)
      .publish(request('application/cloudevents-batch+json'), [{ ...event, data: { units: -1 } }])
      .catch((err: unknown) => err);
    expect(repository.reloads).toBe(1);
    expect((refused as ProblemException).problem.extensions).toEqual({
      errors: [
        {
          field: '[0].data.units',
          messages: [
            expect.stringMatching(/^meter units: \$\.units must be a non-negative integer/),
            expect.stringMatching(/^meter units_too: \$\.units must be a non-negative integer/),
          ],
        },
      ],
    });
  });

  it('accepts events of a type no meter reads, even after a reload', async () => {
    const repository = meters();
    const publisher = recording();
    const answer = await controller(publisher, repository).publish(
      request('application/cloudevents+json'),
      { ...event, type: 'unmetered', data: { units: 'many' } },
    );
    expect(answer).toEqual({ accepted: 1 });
    expect(repository.reloads).toBe(1);
  });

  it('validates with the cached meters when they cannot be reloaded', async () => {
    const warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const repository = {
      forType: () => [],
      reload: () => Promise.reject(new Error('database down')),
    };
    const answer = await controller(recording(), repository).publish(
      request('application/cloudevents+json'),
      event,
    );
    expect(answer).toEqual({ accepted: 1 });
    expect(warned).toHaveBeenCalledTimes(1);
    warned.mockRestore();
  });
});
