import { Body, Controller, HttpCode, Logger, Post, Req, UseGuards } from '@nestjs/common';
import { ProblemException } from '@paygate/problem-details';
import type { FastifyRequest } from 'fastify';
import { CLOUDEVENTS_BATCH_JSON, CLOUDEVENTS_JSON, validateIntake } from './event-intake';
import { EventsPublisher } from './events.publisher';
import { ServiceTokenGuard } from './service-token.guard';

const ACCEPTED_TYPES = [CLOUDEVENTS_JSON, CLOUDEVENTS_BATCH_JSON, 'application/json'];

/**
 * Usage ingestion over HTTP for services that cannot speak Kafka. The answer is 202 only once
 * the broker acknowledged every event (acks from all in-sync replicas); anything else is an
 * error the caller retries, and the retried events are deduplicated by (source, id).
 */
@Controller('events')
@UseGuards(ServiceTokenGuard)
export class EventsController {
  private readonly logger = new Logger(EventsController.name);

  constructor(private readonly publisher: EventsPublisher) {}

  @Post()
  @HttpCode(202)
  async publish(
    @Req() request: FastifyRequest,
    @Body() body: unknown,
  ): Promise<{ accepted: number }> {
    const contentType = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (!ACCEPTED_TYPES.includes(contentType)) {
      throw new ProblemException({
        code: 'unsupported-media-type',
        detail: `Send ${CLOUDEVENTS_JSON} or ${CLOUDEVENTS_BATCH_JSON}.`,
      });
    }
    const intake = validateIntake(body, contentType);
    if (!intake.ok) {
      // The same shape as every other validation problem: the field and its messages.
      const errors = intake.errors.map((e) => ({ field: e.field, messages: [e.message] }));
      throw new ProblemException({ code: 'validation-failed', extensions: { errors } });
    }
    try {
      await this.publisher.publish(intake.events);
    } catch (err) {
      this.logger.warn({ err, events: intake.events.length }, 'events not acknowledged by Kafka');
      // Not acknowledged means not accepted: the caller retries, and dedupe makes that safe.
      throw new ProblemException({
        code: 'service-unavailable',
        detail: 'The events could not be handed to Kafka. Retry the same request shortly.',
        headers: { 'retry-after': '1' },
      });
    }
    return { accepted: intake.events.length };
  }
}
