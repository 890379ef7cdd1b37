import { Body, Controller, HttpCode, Inject, Logger, Post, Req, UseGuards } from '@nestjs/common';
import { Clock } from '@paygate/clock';
import type { FieldError } from '@paygate/contracts';
import { FieldProblem, ProblemException } from '@paygate/problem-details';
import type { FastifyRequest } from 'fastify';
import { MeteringConfig } from '../config/metering.config';
import { MetersRepository } from '../meters/meters.repository';
import {
  CLOUDEVENTS_BATCH_JSON,
  CLOUDEVENTS_JSON,
  IntakeResult,
  validateIntake,
} from './event-intake';
import { EventsPublisher } from './events.publisher';
import { binaryModeEvent, isBinaryMode } from './http-binary-mode';
import { ServiceTokenGuard } from './service-token.guard';

const ACCEPTED_TYPES = [CLOUDEVENTS_JSON, CLOUDEVENTS_BATCH_JSON, 'application/json'];

/** The same shape as every other validation problem: each field once, with its messages. */
function fieldProblems(errors: FieldError[]): FieldProblem[] {
  const byField = new Map<string, string[]>();
  for (const e of errors) {
    // The event or batch as a whole: the body, named like any other 400's.
    const field = e.field || 'body';
    byField.set(field, [...(byField.get(field) ?? []), e.message]);
  }
  return [...byField].map(([field, messages]) => ({ field, messages }));
}

/**
 * Usage ingestion over HTTP for services that cannot speak Kafka. The answer is 202 only once
 * the broker acknowledged every event (acks from all in-sync replicas); anything else is an
 * error the caller retries, and the retried events are deduplicated by (source, id). Events
 * the consumer would dead-letter for their shape, time or values are refused up front, all
 * of the request's or none.
 */
@Controller('events')
@UseGuards(ServiceTokenGuard)
export class EventsController {
  private readonly logger = new Logger(EventsController.name);

  constructor(
    private readonly publisher: EventsPublisher,
    private readonly meters: MetersRepository,
    @Inject(MeteringConfig)
    private readonly config: Pick<MeteringConfig, 'LATE_WINDOW_HOURS' | 'FUTURE_SKEW_SECONDS'>,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  @Post()
  @HttpCode(202)
  async publish(
    @Req() request: FastifyRequest,
    @Body() body: unknown,
  ): Promise<{ accepted: number }> {
    let contentType = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (!ACCEPTED_TYPES.includes(contentType)) {
      throw new ProblemException({
        code: 'unsupported-media-type',
        detail: `Send ${CLOUDEVENTS_JSON} or ${CLOUDEVENTS_BATCH_JSON}, or one event in binary mode (ce- headers) with application/json data.`,
      });
    }
    if (isBinaryMode(request.headers)) {
      // Binary content mode (HTTP binding §3.1): the event is in the headers, its data the body.
      if (contentType !== 'application/json') {
        throw new ProblemException({
          code: 'unsupported-media-type',
          detail: 'A binary-mode event (ce- headers) carries application/json data.',
        });
      }
      // The header lines as sent: a repeated ce- header is refused, not joined into one value.
      const binary = binaryModeEvent(request.raw.rawHeaders, body);
      if (!binary.ok) {
        throw new ProblemException({
          code: 'validation-failed',
          extensions: { errors: binary.errors },
        });
      }
      body = binary.event;
      contentType = CLOUDEVENTS_JSON;
    }
    const intake = await this.validate(body, contentType);
    if (!intake.ok) {
      throw new ProblemException({
        code: 'validation-failed',
        variant: intake.eventsRefused ? 'events-refused' : undefined,
        extensions: { errors: fieldProblems(intake.errors) },
      });
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

  /**
   * Validates against the in-memory meters; when fresher definitions could change the answer
   * (a type without meters, a value refused), they are reloaded once and the request validated
   * again, as the consumer does, so a meter made a moment ago on another instance counts.
   */
  private async validate(body: unknown, contentType: string): Promise<IntakeResult> {
    const run = () =>
      validateIntake(body, contentType, {
        nowMs: this.clock.now().getTime(),
        lateWindowMs: this.config.LATE_WINDOW_HOURS * 3_600_000,
        futureSkewMs: this.config.FUTURE_SKEW_SECONDS * 1000,
        metersFor: (type) => this.meters.forType(type),
      });
    const intake = run();
    if (!intake.meterDependent) return intake;
    try {
      await this.meters.reload();
    } catch (err) {
      // The consumer checks every event again; the cached meters answer meanwhile.
      this.logger.warn({ err }, 'meters not reloaded; validated with the cached ones');
      return intake;
    }
    return run();
  }
}
