/* eslint-disable */
export default async () => {
  const t = {
    ['./plans/plan.entity']: await import('./plans/plan.entity'),
    ['./plans/plan.dto']: await import('./plans/plan.dto'),
    ['./api-keys/api-key.entity']: await import('./api-keys/api-key.entity'),
    ['./customers/customer.entity']: await import('./customers/customer.entity'),
    ['./subscriptions/subscription.entity']: await import('./subscriptions/subscription.entity'),
  };
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
          import('./api-keys/api-key.entity'),
          {
            ApiKey: {
              id: { required: true, type: () => String },
              customerId: { required: true, type: () => String },
              name: { required: true, type: () => String, nullable: true },
              prefix: { required: true, type: () => String },
              keyHash: { required: true, type: () => String },
              scopes: { required: true, type: () => [String] },
              expiresAt: { required: true, type: () => Date, nullable: true },
              revokedAt: { required: true, type: () => Date, nullable: true },
              createdAt: { required: true, type: () => Date },
            },
          },
        ],
        [
          import('./api-keys/api-key.dto'),
          {
            CreateApiKeyDto: {
              name: { required: false, type: () => String, minLength: 1, maxLength: 100 },
              scopes: {
                required: false,
                type: () => [String],
                maxItems: 50,
                pattern: '^[a-z0-9:._-]{1,64}$',
              },
              expiresAt: {
                required: false,
                type: () => String,
                description:
                  'When the key stops working (in the future); never by default.\nFrom 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z.',
              },
            },
          },
        ],
        [
          import('./customers/customer.entity'),
          {
            Customer: {
              id: { required: true, type: () => String },
              name: { required: true, type: () => String },
              email: { required: true, type: () => String, nullable: true },
              blocked: {
                required: true,
                type: () => Boolean,
                description:
                  'Blocked by an operator: every request is refused with 403 forbidden (paying does not help).',
              },
              stripeCustomerId: {
                required: true,
                type: () => String,
                nullable: true,
                description:
                  'The customer at Stripe (cus_...): learnt from payment webhooks, or set by an operator.',
              },
              createdAt: { required: true, type: () => Date },
            },
          },
        ],
        [
          import('./plans/plan.entity'),
          {
            Plan: {
              id: { required: true, type: () => String },
              key: { required: true, type: () => String },
              version: { required: true, type: () => Number },
              name: { required: true, type: () => String },
              features: { required: true, type: () => [t['./plans/plan.entity'].PlanFeature] },
              createdAt: { required: true, type: () => Date },
            },
            PlanFeature: {
              id: { required: true, type: () => String },
              plan: { required: true, type: () => t['./plans/plan.entity'].Plan },
              featureKey: { required: true, type: () => String },
              kind: { required: true, enum: ['boolean', 'metered'] },
              meterKey: { required: true, type: () => String, nullable: true },
              includedUnits: { required: true, type: () => Number },
              limitPolicy: { required: true, enum: ['block', 'credits', 'overage'] },
              unitPrice: {
                required: true,
                type: () => Number,
                description: 'Credits drawn per unit beyond the included units (policy `credits`).',
              },
              usagePeriod: {
                required: true,
                description: 'The window in which the included units are counted.',
                enum: ['year', 'month', 'day', 'hour', 'none', 'billing', 'week'],
              },
              softLimitPercent: {
                required: true,
                type: () => Number,
                nullable: true,
                description:
                  'Allowed requests carry a warning once this share of the included units is used.',
              },
              rateLimitRequests: {
                required: true,
                type: () => Number,
                nullable: true,
                description: 'Requests per window (\u2192 429), enforced by the gateway.',
              },
              rateLimitWindowSeconds: { required: true, type: () => Number, nullable: true },
              concurrencyLimit: {
                required: true,
                type: () => Number,
                nullable: true,
                description:
                  'Requests in flight at once, across every gateway (\u2192 429), enforced by the gateway.',
              },
            },
          },
        ],
        [
          import('./subscriptions/subscription.entity'),
          {
            Subscription: {
              id: { required: true, type: () => String },
              customerId: { required: true, type: () => String },
              planId: { required: true, type: () => String },
              status: {
                required: true,
                enum: [
                  'trialing',
                  'active',
                  'incomplete',
                  'past_due',
                  'unpaid',
                  'suspended',
                  'canceled',
                  'expired',
                ],
              },
              currentPeriodStart: { required: true, type: () => Date },
              currentPeriodEnd: { required: true, type: () => Date },
              billingInterval: { required: true, enum: ['year', 'month', 'day', 'week'] },
              billingAnchor: {
                required: true,
                type: () => Date,
                description: 'Periods are counted from here, so month ends do not drift.',
              },
              cancelAtPeriodEnd: { required: true, type: () => Boolean },
              pendingPlanId: {
                required: true,
                type: () => String,
                nullable: true,
                description:
                  'A plan change that takes effect when the current period ends (a downgrade).',
              },
              pastDueSince: { required: true, type: () => Date, nullable: true },
              gracePeriodSeconds: {
                required: true,
                type: () => Number,
                description:
                  'How long a past_due subscription keeps access (with a warning) before 402s start.',
              },
              createdAt: { required: true, type: () => Date },
              updatedAt: { required: true, type: () => Date },
            },
          },
        ],
        [
          import('./customers/customer.dto'),
          {
            CreateCustomerDto: {
              name: { required: true, type: () => String, minLength: 1, maxLength: 200 },
              email: { required: false, type: () => String, format: 'email' },
            },
            UpdateCustomerDto: {
              name: { required: false, type: () => String, minLength: 1, maxLength: 200 },
              email: {
                required: false,
                type: () => String,
                nullable: true,
                description: '`null` clears it (an empty string is not an email: 400).',
                format: 'email',
              },
              blocked: {
                required: false,
                type: () => Boolean,
                description:
                  'Blocks (true) or unblocks (false) every request of the customer: 403 forbidden.',
              },
              stripeCustomerId: {
                required: false,
                type: () => String,
                nullable: true,
                description:
                  "The customer's id at Stripe, for the billing page's Stripe customer portal. `null` clears\nit (the next Stripe invoice event may set it again).",
                pattern: '^cus_[A-Za-z0-9]{1,255}$',
              },
            },
            ListCustomersDto: {
              after: {
                required: false,
                type: () => String,
                description: 'The last id of the previous page.',
                format: 'uuid',
              },
            },
          },
        ],
        [
          import('./credits/credit.dto'),
          {
            CreateGrantDto: {
              amount: { required: true, type: () => Number, minimum: 1, maximum: 9007199254740991 },
              description: { required: false, type: () => String, minLength: 1, maxLength: 500 },
              source: { required: false, enum: ['purchase', 'promotional', 'manual'] },
              priority: {
                required: false,
                type: () => Number,
                description: 'Lower burns first.',
                minimum: 0,
                maximum: 1000000,
              },
              effectiveAt: {
                required: false,
                type: () => String,
                description:
                  'When the credits become usable; default now.\nFrom 1970-01-01T00:00:00Z to 9000-01-01T00:00:00Z.',
              },
              expiresAt: {
                required: false,
                type: () => String,
                description:
                  'When what is left of the grant expires; never by default.\nFrom 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z.',
              },
            },
            LedgerQueryDto: {
              before: {
                required: false,
                type: () => Number,
                minimum: 1,
                maximum: 9007199254740991,
              },
            },
          },
        ],
        [
          import('./plans/plan.dto'),
          {
            PlanFeatureDto: {
              key: { required: true, type: () => String },
              kind: { required: true, enum: ['boolean', 'metered'] },
              meterKey: {
                required: false,
                type: () => String,
                description: 'Metered features only (required there).',
              },
              includedUnits: {
                required: false,
                type: () => Number,
                description:
                  'Metered features only. At most 2^53 \u2212 1: stored as bigint, read back as an exact JSON\nnumber.',
                minimum: 0,
                maximum: 9007199254740991,
              },
              limitPolicy: {
                required: false,
                description: 'Metered features only.',
                enum: ['block', 'credits', 'overage'],
              },
              unitPrice: {
                required: false,
                type: () => Number,
                description:
                  'Metered features only. At most 2^53 \u2212 1: stored as bigint, read back as an exact JSON\nnumber.',
                minimum: 0,
                maximum: 9007199254740991,
              },
              usagePeriod: {
                required: false,
                description: 'Metered features only.',
                enum: ['year', 'month', 'day', 'hour', 'none', 'billing', 'week'],
              },
              softLimitPercent: {
                required: false,
                type: () => Number,
                description: 'Metered features only.',
                minimum: 1,
                maximum: 100,
              },
              rateLimitRequests: {
                required: false,
                type: () => Number,
                minimum: 1,
                maximum: 2147483647,
              },
              rateLimitWindowSeconds: {
                required: false,
                type: () => Number,
                minimum: 1,
                maximum: 86400,
              },
              concurrencyLimit: {
                required: false,
                type: () => Number,
                description:
                  'The most requests of this feature in flight at once for a customer, across every gateway\nreplica; more get a 429 until one finishes. Absent: no limit.',
                minimum: 1,
                maximum: 1000000,
              },
            },
            CreatePlanDto: {
              key: { required: true, type: () => String },
              name: { required: true, type: () => String, minLength: 1, maxLength: 200 },
              features: {
                required: true,
                type: () => [t['./plans/plan.dto'].PlanFeatureDto],
                maxItems: 100,
              },
            },
          },
        ],
        [
          import('./subscriptions/subscription.dto'),
          {
            CreateSubscriptionDto: {
              planId: { required: true, type: () => String, format: 'uuid' },
              status: {
                required: false,
                enum: [
                  'trialing',
                  'active',
                  'incomplete',
                  'past_due',
                  'unpaid',
                  'suspended',
                  'canceled',
                  'expired',
                ],
              },
              billingInterval: { required: false, enum: ['year', 'month', 'day', 'week'] },
              currentPeriodStart: {
                required: false,
                type: () => String,
                description:
                  'Start of the first period (and the billing anchor); default now.\nFrom 1970-01-01T00:00:00Z to 9000-01-01T00:00:00Z.',
              },
              currentPeriodEnd: {
                required: false,
                type: () => String,
                description:
                  "End of the first period (e.g. a trial's end); default one interval after the start.\nFrom 1970-01-01T00:00:00Z to 9000-01-01T00:00:00Z.",
              },
              gracePeriodSeconds: { required: false, type: () => Number, minimum: 0 },
            },
            UpdateSubscriptionDto: {
              status: {
                required: false,
                enum: [
                  'trialing',
                  'active',
                  'incomplete',
                  'past_due',
                  'unpaid',
                  'suspended',
                  'canceled',
                  'expired',
                ],
              },
              cancelAtPeriodEnd: {
                required: false,
                type: () => Boolean,
                description: 'Cancel when the current period ends (true), or undo that (false).',
              },
              planId: { required: false, type: () => String, format: 'uuid' },
              planChange: {
                required: false,
                description:
                  'An upgrade usually takes effect now, a downgrade at the end of the period.',
                enum: ['now', 'period_end'],
              },
              gracePeriodSeconds: { required: false, type: () => Number, minimum: 0 },
            },
          },
        ],
      ],
      controllers: [
        [
          import('./api-keys/api-keys.controller'),
          {
            ApiKeysController: {
              create: {
                summary:
                  "The key's secret is in this response only. A replay with the same Idempotency-Key answers\n`key: null`, `keyRedacted: true` and a `redaction` note instead (CreatedApiKey).",
                type: Object,
              },
              list: { type: [t['./api-keys/api-key.entity'].ApiKey] },
              revoke: {},
            },
          },
        ],
        [
          import('./credits/credits.controller'),
          {
            CreditsController: {
              grant: {
                summary:
                  'Adds credits as a grant (priority, effective date, expiry). With an Idempotency-Key a\nreplay returns the first response; the same key with another body is a 409. A grant that\nwould take the balance (with reserved and not yet effective credits) past MAX_BALANCE,\n2^53 \u2212 1, is a 400 validation-failed naming `amount`, the bound and the balance.',
                type: Object,
              },
              grants: { summary: 'Grants in burn order, expired ones last.', type: [Object] },
              balance: {
                summary:
                  '`available` and `reserved` are JSON numbers, or exact decimal strings past \u00B1(2^53 \u2212 1).',
                type: Object,
              },
              ledger: {},
            },
          },
        ],
        [
          import('./decisions/entitlement.grpc.controller'),
          {
            EntitlementGrpcController: {
              check: { type: Object },
              release: { type: Object },
              closeLeases: {
                summary: 'Used-up leases a gateway closes together: one statement for the batch.',
                type: Object,
              },
              recordPayment: {
                summary:
                  'Domain errors (bad fields, unknown customer, balance bound) map to gRPC status codes.',
                type: Object,
              },
              claimSettlements: { type: Object },
              completeSettlement: { type: Object },
            },
          },
        ],
        [
          import('./concurrency/concurrency.grpc.controller'),
          {
            ConcurrencyGrpcController: {
              holdConcurrency: {
                summary: 'Bad fields map to INVALID_ARGUMENT, each named.',
                type: Object,
              },
            },
          },
        ],
        [
          import('./customers/customers.controller'),
          {
            CustomersController: {
              create: { type: t['./customers/customer.entity'].Customer },
              list: {},
              update: {
                summary:
                  'Fields left out keep their value; `email` and `stripeCustomerId` take null to clear them.',
                type: t['./customers/customer.entity'].Customer,
              },
              get: { type: t['./customers/customer.entity'].Customer },
            },
          },
        ],
        [
          import('./payments/stripe-webhook.controller'),
          {
            StripeWebhookController: {
              receive: {
                summary:
                  'Verifies the Stripe-Signature over the raw body, then applies the event once.',
              },
            },
          },
        ],
        [
          import('./plans/plans.controller'),
          {
            PlansController: {
              create: { type: t['./plans/plan.entity'].Plan },
              list: { type: [t['./plans/plan.entity'].Plan] },
              get: { type: t['./plans/plan.entity'].Plan },
            },
          },
        ],
        [
          import('./rate-windows/rate-windows.grpc.controller'),
          {
            RateWindowsGrpcController: {
              takeRateWindow: {
                summary: 'Bad fields map to INVALID_ARGUMENT, each named.',
                type: Object,
              },
            },
          },
        ],
        [
          import('./subscriptions/subscriptions.controller'),
          {
            SubscriptionsController: {
              create: {
                summary:
                  "The new subscription replaces the customer's live one (any status but canceled or expired),\nwhich is canceled in the same transaction: a customer has at most one live subscription,\nand creates sent at once each replace the one before.",
                type: t['./subscriptions/subscription.entity'].Subscription,
              },
              list: { type: [t['./subscriptions/subscription.entity'].Subscription] },
              update: {
                summary:
                  'A status that brings an ended subscription back (canceled or expired to any other) is a\n409 conflict while the customer has another live subscription.',
                type: t['./subscriptions/subscription.entity'].Subscription,
              },
            },
          },
        ],
        [
          import('./billing/billing.controller'),
          {
            BillingController: {
              page: {},
              topUp: {},
              pay: {
                summary:
                  'Demo provider only: the open invoice is paid at once and the subscription is active again.',
              },
              manage: {
                summary:
                  "The provider's own page (Stripe's customer portal) for a customer it knows.",
              },
              changePlan: {
                summary:
                  'Demo provider only: the plan changes at once (an upgrade, paid for on the spot).',
              },
            },
          },
        ],
        [import('./usage/period-usage.controller'), { PeriodUsageController: { current: {} } }],
      ],
    },
  };
};
