import { isRfc3339DateTime } from '@paygate/http';
import { randomUUID } from 'node:crypto';
import { ADMIN_TOKEN, Stack } from './support/stack';

// Bodies are checked with matchers, so they are left untyped here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/**
 * The operator API against what an ordinary operator does to it: creates sent all at once,
 * fields cleared with null, terms a feature's kind has no use for. Each answer is a success
 * or a 4xx problem naming what to correct, never a 5xx.
 */
describe('operator API under an operator (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 12901,
      entitlementGrpc: 12951,
      metering: 12902,
      gateway: 12970,
      upstream: 12990,
    },
    'operator-api-',
  );
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

  const send = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${stack.url('entitlement')}${path}`, {
      method,
      headers: admin,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const json: Json = text ? JSON.parse(text) : undefined;
    return {
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      body: json,
    };
  };

  /** The 400 problem's failing fields. */
  const refused = async (method: string, path: string, body: unknown) => {
    const answer = await send(method, path, body);
    expect({ status: answer.status, type: answer.type }).toMatchObject({
      status: 400,
      type: expect.stringMatching(/^application\/problem\+json/),
    });
    expect(answer.body.code).toBe('VALIDATION_FAILED');
    return answer.body.errors as { field: string; messages: string[] }[];
  };

  const plan = async (features: object[]) =>
    (await send('POST', '/v1/plans', { key: `p-${randomUUID().slice(0, 8)}`, name: 'P', features }))
      .body as { id: string };

  beforeAll(async () => {
    await stack.start(['entitlement']);
  }, 120_000);

  afterAll(() => stack.stop());

  describe('subscriptions: one live subscription per customer', () => {
    it('10 concurrent creates: each is a 201 replacing the one before, one stays live', async () => {
      const requests = await plan([
        { key: 'requests', kind: 'metered', meterKey: 'api_requests', unitPrice: 1 },
      ]);
      const customer = (await send('POST', '/v1/customers', { name: 'Double clicker' })).body;
      const answers = await Promise.all(
        Array.from({ length: 10 }, () =>
          send('POST', `/v1/customers/${customer.id}/subscriptions`, {
            planId: requests.id,
            status: 'active',
          }),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
      const list: { id: string; status: string }[] = (
        await send('GET', `/v1/customers/${customer.id}/subscriptions`)
      ).body;
      expect(list.map((s) => s.id).sort()).toEqual(answers.map((a) => a.body.id).sort());
      expect(list.filter((s) => s.status !== 'canceled')).toEqual([
        expect.objectContaining({ status: 'active' }),
      ]);
    });

    it('reviving a replaced subscription while another is live: 409 problem', async () => {
      const requests = await plan([{ key: 'export', kind: 'boolean' }]);
      const customer = (await send('POST', '/v1/customers', { name: 'Reviver' })).body;
      const path = `/v1/customers/${customer.id}/subscriptions`;
      const first = (await send('POST', path, { planId: requests.id })).body;
      const second = (await send('POST', path, { planId: requests.id })).body;
      const revived = await send('PATCH', `/v1/subscriptions/${first.id}`, { status: 'active' });
      expect(revived.status).toBe(409);
      expect(revived.type).toMatch(/^application\/problem\+json/);
      expect(revived.body).toMatchObject({ code: 'CONFLICT', customerId: customer.id });
      // Ended, the other one may come back.
      const ended = await send('PATCH', `/v1/subscriptions/${second.id}`, { status: 'expired' });
      expect(ended.status).toBe(200);
      const again = await send('PATCH', `/v1/subscriptions/${first.id}`, { status: 'active' });
      expect({ status: again.status, live: again.body.status }).toEqual({
        status: 200,
        live: 'active',
      });
    });
  });

  describe('dates: inputs from 1970 to 9000 (expiries to 9999), so every date read back is RFC 3339', () => {
    const RANGE = 'between 1970-01-01T00:00:00Z and 9000-01-01T00:00:00Z';
    /** Every timestamp in a JSON text, and none in the extended form (`+010000-…`). */
    const timestamps = (json: unknown) => {
      const text = JSON.stringify(json);
      expect(text).not.toMatch(/"[+-]\d{6}-/);
      return text.match(/\d{4}-\d{2}-\d{2}T[^"]*/g) ?? [];
    };

    it('a subscription starting past 9000 or before 1970 is a 400 naming the field', async () => {
      const metered = await plan([
        { key: 'requests', kind: 'metered', meterKey: 'api_requests', includedUnits: 10 },
      ]);
      const customer = (await send('POST', '/v1/customers', { name: 'Far future' })).body;
      const path = `/v1/customers/${customer.id}/subscriptions`;
      for (const currentPeriodStart of [
        '9999-12-31T00:00:00Z',
        '9000-01-01T00:00:00.001Z',
        '0001-01-01T00:00:00Z',
        '1970-01-01T00:30:00+01:00',
      ])
        expect(await refused('POST', path, { planId: metered.id, currentPeriodStart })).toEqual([
          { field: 'currentPeriodStart', messages: [`currentPeriodStart must be ${RANGE}`] },
        ]);
      expect(
        await refused('POST', path, {
          planId: metered.id,
          status: 'trialing',
          currentPeriodEnd: '9999-12-31T00:00:00Z',
        }),
      ).toEqual([{ field: 'currentPeriodEnd', messages: [`currentPeriodEnd must be ${RANGE}`] }]);
      // Refused, nothing was created.
      expect((await send('GET', path)).body).toEqual([]);

      // At the bound, a yearly period ends in 9001: the subscription and its usage read back
      // in RFC 3339, and the start is taken back as input.
      const created = await send('POST', path, {
        planId: metered.id,
        billingInterval: 'year',
        currentPeriodStart: '9000-01-01T00:00:00Z',
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        currentPeriodStart: '9000-01-01T00:00:00.000Z',
        currentPeriodEnd: '9001-01-01T00:00:00.000Z',
        billingAnchor: '9000-01-01T00:00:00.000Z',
      });
      const usage = await send('GET', `/v1/customers/${customer.id}/usage`);
      expect(usage.body.features).toEqual([
        expect.objectContaining({
          feature: 'requests',
          windowStart: '9000-01-01T00:00:00.000Z',
          resetsAt: '9001-01-01T00:00:00.000Z',
        }),
      ]);
      const read = [...timestamps(created.body), ...timestamps(usage.body)];
      expect(read.filter((t) => !isRfc3339DateTime(t))).toEqual([]);
      const again = await send('POST', path, {
        planId: metered.id,
        currentPeriodStart: created.body.currentPeriodStart,
      });
      expect(again.status).toBe(201);
    });

    it("a grant's effectiveAt past 9000, an expiry past 9999 or before 1970: 400 naming each", async () => {
      const customer = (await send('POST', '/v1/customers', { name: 'Forever' })).body;
      const EXPIRY_RANGE = 'between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z';
      expect(
        await refused('POST', `/v1/customers/${customer.id}/grants`, {
          amount: 5,
          effectiveAt: '9000-01-01T00:00:00.001Z',
          // 10000-01-01T00:00:59Z
          expiresAt: '9999-12-31T23:59:59-00:01',
        }),
      ).toEqual([
        { field: 'effectiveAt', messages: [`effectiveAt must be ${RANGE}`] },
        { field: 'expiresAt', messages: [`expiresAt must be ${EXPIRY_RANGE}`] },
      ]);
      expect(
        await refused('POST', `/v1/customers/${customer.id}/grants`, {
          amount: 5,
          effectiveAt: '1969-12-31T23:59:59Z',
        }),
      ).toEqual([{ field: 'effectiveAt', messages: [`effectiveAt must be ${RANGE}`] }]);
      expect(
        await refused('POST', `/v1/customers/${customer.id}/api-keys`, {
          expiresAt: '+010000-01-01T00:00:00Z',
        }),
      ).toEqual([
        {
          field: 'expiresAt',
          messages: [
            'expiresAt must be an RFC 3339 date-time with an offset, like 2026-01-31T12:00:00Z',
          ],
        },
      ]);
      expect(
        await refused('POST', `/v1/customers/${customer.id}/api-keys`, {
          expiresAt: '10000-01-01T00:00:00Z',
        }),
      ).toEqual([
        {
          field: 'expiresAt',
          messages: [
            'expiresAt must be an RFC 3339 date-time with an offset, like 2026-01-31T12:00:00Z',
          ],
        },
      ]);

      // The end of 9999 is what operators write for "never": taken, and read back in RFC 3339.
      const grant = await send('POST', `/v1/customers/${customer.id}/grants`, {
        amount: 5,
        effectiveAt: '9000-01-01T00:00:00Z',
        expiresAt: '9999-12-31T23:59:59Z',
      });
      expect(grant.status).toBe(201);
      const key = await send('POST', `/v1/customers/${customer.id}/api-keys`, {
        expiresAt: '9999-12-31T23:59:59.999+00:00',
      });
      expect(key.status).toBe(201);
      const grants = await send('GET', `/v1/customers/${customer.id}/grants`);
      const read = [...timestamps(grant.body), ...timestamps(key.body), ...timestamps(grants.body)];
      expect(read).toEqual(
        expect.arrayContaining([
          '9000-01-01T00:00:00.000Z',
          '9999-12-31T23:59:59.000Z',
          '9999-12-31T23:59:59.999Z',
        ]),
      );
      expect(read.filter((t) => !isRfc3339DateTime(t))).toEqual([]);
      // The scripts' helper revokes it: a DELETE without a body goes without Content-Type.
      await expect(
        stack.operator('DELETE', `/v1/api-keys/${key.body.id}`),
      ).resolves.toBeUndefined();
    });
  });

  describe('names and descriptions: shown as stored', () => {
    it('refuses control, bidirectional-override and lone-surrogate characters, naming the field', async () => {
      const customerPath = '/v1/customers';
      // (NUL and lone surrogates are the body parser's, before any field's rule.)
      for (const name of [
        'ev\u202egnp.exe',
        'esc\u001b[2J',
        'two\u2028lines',
        '\u200b',
        '   ',
        'x\u{e0041}\u{e0042}',
      ])
        expect([name, (await refused('POST', customerPath, { name })).map((e) => e.field)]).toEqual(
          [name, ['name']],
        );
      expect(
        (
          await refused('POST', customerPath, { name: 'Mail', email: 'a\u202egnp@example.com' })
        ).map((e) => e.field),
      ).toEqual(['email']);
      const customer = (await send('POST', customerPath, { name: 'Familie 👨\u200d👩\u200d👧' }))
        .body;
      expect(customer.name).toBe('Familie 👨\u200d👩\u200d👧');
      const path = `/v1/customers/${customer.id}`;
      expect((await refused('PATCH', path, { name: 'a\u2066b' })).map((e) => e.field)).toEqual([
        'name',
      ]);
      expect(
        (
          await refused('POST', '/v1/plans', {
            key: `p-${randomUUID().slice(0, 8)}`,
            name: 'Pro\u0085',
            features: [],
          })
        ).map((e) => e.field),
      ).toEqual(['name']);
      expect(
        (await refused('POST', `${path}/api-keys`, { name: 'ci\nkey' })).map((e) => e.field),
      ).toEqual(['name']);
      expect(
        (await refused('POST', `${path}/grants`, { amount: 5, description: 'gift\u202e' })).map(
          (e) => e.field,
        ),
      ).toEqual(['description']);
      // A description may have lines.
      const grant = await send('POST', `${path}/grants`, {
        amount: 5,
        description: 'Goodwill\nTicket 42',
      });
      expect(grant.status).toBe(201);
      // Nothing refused was stored.
      expect((await send('GET', path)).body.name).toBe('Familie 👨\u200d👩\u200d👧');
      expect((await send('GET', `${path}/api-keys`)).body).toEqual([]);
    });
  });

  describe('customers: null clears email and stripeCustomerId', () => {
    it('clears each with null, keeps the others, and refuses an empty string', async () => {
      const customer = (await send('POST', '/v1/customers', { name: 'Clearable', email: 'a@b.co' }))
        .body;
      const path = `/v1/customers/${customer.id}`;
      const set = await send('PATCH', path, { stripeCustomerId: 'cus_e2e1' });
      expect(set.body).toMatchObject({ email: 'a@b.co', stripeCustomerId: 'cus_e2e1' });

      const cleared = await send('PATCH', path, { email: null });
      expect(cleared.status).toBe(200);
      expect(cleared.body).toMatchObject({ email: null, stripeCustomerId: 'cus_e2e1' });
      expect((await send('PATCH', path, { stripeCustomerId: null })).body).toMatchObject({
        name: 'Clearable',
        email: null,
        stripeCustomerId: null,
      });
      expect((await send('GET', path)).body).toMatchObject({ email: null, stripeCustomerId: null });

      expect((await refused('PATCH', path, { email: '' })).map((e) => e.field)).toEqual(['email']);
      expect((await refused('PATCH', path, { stripeCustomerId: '' })).map((e) => e.field)).toEqual([
        'stripeCustomerId',
      ]);
      expect(await refused('PATCH', path, { name: null })).toEqual([
        { field: 'name', messages: ['must not be null; leave the field out'] },
      ]);
    });
  });

  describe('plans: a boolean feature has no meter, quota or price', () => {
    it('refuses unitPrice and the other metered terms on a boolean feature, naming them', async () => {
      const errors = await refused('POST', '/v1/plans', {
        key: `p-${randomUUID().slice(0, 8)}`,
        name: 'P',
        features: [
          { key: 'requests', kind: 'metered', meterKey: 'api_requests', unitPrice: 1 },
          { key: 'export', kind: 'boolean', unitPrice: 5, includedUnits: 10 },
        ],
      });
      expect(errors).toEqual([
        {
          field: 'features.1.includedUnits',
          messages: [
            'includedUnits is a term of metered features: leave it out of a boolean feature',
          ],
        },
        {
          field: 'features.1.unitPrice',
          messages: ['unitPrice is a term of metered features: leave it out of a boolean feature'],
        },
      ]);
      // A boolean feature still takes the gateway's limits.
      const limited = await send('POST', '/v1/plans', {
        key: `p-${randomUUID().slice(0, 8)}`,
        name: 'P',
        features: [
          {
            key: 'export',
            kind: 'boolean',
            rateLimitRequests: 5,
            rateLimitWindowSeconds: 60,
            concurrencyLimit: 2,
          },
        ],
      });
      expect(limited.status).toBe(201);
    });
  });
});
