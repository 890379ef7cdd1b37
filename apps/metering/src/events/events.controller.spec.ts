import { ProblemException } from '@paygate/problem-details';
import type { FastifyRequest } from 'fastify';
import { EventsController } from './events.controller';
import type { EventsPublisher } from './events.publisher';

const request = (contentType: string) =>
  ({ headers: { 'content-type': contentType } }) as FastifyRequest;
const event = {
  specversion: '1.0',
  id: 'e1',
  source: 'svc',
  type: 't',
  subject: 'c1',
  time: '2026-11-25T10:00:00Z',
  data: {},
};

describe('EventsController', () => {
  it('answers 503 with Retry-After, not 500, when Kafka does not acknowledge', async () => {
    const publisher = {
      publish: () => Promise.reject(new Error('broker down')),
    } as unknown as EventsPublisher;
    const controller = new EventsController(publisher);
    const refused = await controller
      .publish(request('application/cloudevents+json'), event)
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ProblemException);
    expect((refused as ProblemException).problem).toMatchObject({
      code: 'service-unavailable',
      headers: { 'retry-after': '1' },
    });
  });

  it('hands every event of a valid batch to the publisher before answering', async () => {
    const published: unknown[] = [];
    const publisher = {
      publish: async (events: unknown[]) => void published.push(...events),
    } as unknown as EventsPublisher;
    const controller = new EventsController(publisher);
    const answer = await controller.publish(request('application/cloudevents-batch+json'), [
      event,
      { ...event, id: 'e2' },
    ]);
    expect(answer).toEqual({ accepted: 2 });
    expect(published).toHaveLength(2);
  });
});
