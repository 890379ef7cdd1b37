/* eslint-disable */
export default async () => {
  const t = {};
  void t;
  return {
    '@nestjs/swagger': {
      models: [
        [
          import('../../../libs/http/src/page-query.dto'),
          {
            PageQueryDto: {
              limit: { required: false, type: () => Number, minimum: 1, maximum: 500 },
            },
          },
        ],
        [
          import('./dead-letters/dead-letter.dto'),
          {
            DeadLetterQueryDto: {
              reason: { required: false, type: () => String },
              since: {
                required: false,
                type: () => String,
                description: 'Only letters dead-lettered at or after this time (RFC 3339).',
              },
            },
            ReplayDeadLettersDto: {
              reason: {
                required: true,
                type: () => String,
                description:
                  'Replay only letters with this reason, e.g. unknown-meter after the meter was defined.',
              },
              since: {
                required: false,
                type: () => String,
                description: 'Only letters dead-lettered at or after this time (RFC 3339).',
              },
              limit: {
                required: false,
                type: () => Number,
                description: 'At most this many: 1 to 1,000, default 1,000 (REPLAY_MAX_LIMIT).',
                minimum: 1,
                maximum: 1000,
              },
            },
          },
        ],
        [
          import('./meters/meter.dto'),
          {
            CreateMeterDto: {
              key: {
                required: true,
                type: () => String,
                description: 'Stable name that plans and usage queries refer to.',
                pattern: '^[a-z][a-z0-9_]{0,63}$',
              },
              eventType: {
                required: true,
                type: () => String,
                description: 'CloudEvents `type` this meter reads.',
                minLength: 1,
                maxLength: 256,
              },
              aggregation: {
                required: true,
                enum: ['sum', 'count', 'max', 'unique_count', 'latest'],
              },
              valuePath: {
                required: false,
                type: () => String,
                description:
                  "Where the value is, in the event's data; required for every aggregation but count.",
              },
              groupBy: {
                required: false,
                type: 'object',
                additionalProperties: { type: 'string' },
                description:
                  'Group name \u2192 JSON path; each combination of values gets its own usage rows.',
              },
              description: { required: false, type: () => String, minLength: 0, maxLength: 500 },
            },
            UpdateMeterDto: {
              eventType: { required: false, type: () => String, minLength: 1, maxLength: 256 },
              valuePath: { required: false, type: () => String },
              groupBy: {
                required: false,
                type: 'object',
                additionalProperties: { type: 'string' },
              },
              description: { required: false, type: () => String, minLength: 0, maxLength: 500 },
            },
            ListMetersDto: { includeArchived: { required: false, type: () => Boolean } },
          },
        ],
        [
          import('./usage/usage-query.dto'),
          {
            UsageQueryDto: {
              customerId: {
                required: true,
                type: () => String,
                description:
                  'The customer id (a UUID; spelt otherwise, such as in upper case, read as it is stored).',
                minLength: 1,
                maxLength: 256,
              },
              meterKey: { required: true, type: () => String, minLength: 1, maxLength: 64 },
              from: {
                required: false,
                type: () => String,
                description: 'Inclusive start (RFC 3339); buckets are UTC.',
              },
              to: {
                required: false,
                type: () => String,
                description: 'Exclusive end (RFC 3339), not before `from`.',
              },
              granularity: {
                required: false,
                description:
                  'Split the window into buckets of this size; without it only the total is returned.',
                enum: ['month', 'day', 'hour', 'minute'],
              },
              groupBy: {
                required: false,
                type: () => [String],
                description: 'Comma-separated group names of the meter to split by, each once.',
                uniqueItems: true,
                maxItems: 8,
                pattern: '^[a-z][a-z0-9_]{0,63}$',
              },
            },
          },
        ],
        [
          import('./usage/unmatched-query.dto'),
          {
            UnmatchedQueryDto: {
              from: {
                required: false,
                type: () => String,
                description: 'First UTC day counted (YYYY-MM-DD), inclusive; all days when absent.',
              },
              to: {
                required: false,
                type: () => String,
                description: 'Last UTC day counted (YYYY-MM-DD), inclusive; not before `from`.',
              },
            },
          },
        ],
      ],
      controllers: [
        [
          import('./dead-letters/dead-letters.controller'),
          {
            DeadLettersController: {
              recent: {},
              replay: {
                summary:
                  'One reason at a time, at most 1,000 letters; answers which went and how many are left.',
                type: Object,
              },
            },
          },
        ],
        [import('./events/events.controller'), { EventsController: { publish: {} } }],
        [
          import('./meters/meters.controller'),
          {
            MetersController: {
              create: { type: Object },
              list: {},
              get: { type: Object },
              update: { type: Object },
              archive: {
                summary: 'Archives: the meter stops reading events, and its usage stays queryable.',
                type: Object,
              },
            },
          },
        ],
        [
          import('./usage/usage.controller'),
          {
            UsageController: {
              unmatchedEvents: {
                summary:
                  'Events whose type no meter reads, counted per type (UTC days of arrival): what publishers\nsend that nothing bills, so an operator can add the meter or fix the publisher. The 1,000\nmost frequent types, with `typeCount` and `truncated` saying whether there were more.',
                type: Object,
              },
              report: {
                summary:
                  "Usage of one customer's meter over a window, with its total, buckets and groups.",
                type: Object,
              },
            },
          },
        ],
      ],
    },
  };
};
