import { createPaygateClient } from './paygate-client';
import { PaymentRequiredError } from './problem-errors';
import type { PaymentRequest } from './payments';

const offer = (amount: string, asset = 'USDC') => ({
  network: 'eip155:8453',
  asset,
  payTo: '0xpay',
  amount,
  x402: { scheme: 'exact' },
});

const refusal = (offers: object[]) =>
  new Response(
    JSON.stringify({
      type: 'https://paygate.dev/problems/insufficient-credits',
      status: 402,
      code: 'INSUFFICIENT_CREDITS',
      payment: { offers },
    }),
    {
      status: 402,
      headers: {
        'content-type': 'application/problem+json',
        'payment-required': 'eyJ4NDAyVmVyc2lvbiI6Mn0',
        'www-authenticate': 'Payment id="a", realm="r"',
      },
    },
  );

function scripted(...answers: Response[]) {
  const calls: Headers[] = [];
  const fetchFn = (async (_url: string | URL, init: RequestInit = {}) => {
    calls.push(new Headers(init.headers));
    const next = answers.shift();
    if (!next) throw new Error('no more answers');
    return next;
  }) as typeof fetch;
  return { fetchFn, calls };
}

const budget = {
  maxPerCall: { 'eip155:8453/USDC': '1000' },
  maxPerSession: { 'eip155:8453/USDC': '1500' },
};

describe('paygate client payments', () => {
  it('pays an affordable offer once and sends the request again with the credential', async () => {
    const { fetchFn, calls } = scripted(refusal([offer('1000')]), new Response('ok'));
    const asked: PaymentRequest[] = [];
    const client = createPaygateClient({
      fetch: fetchFn,
      apiKey: 'pg_live_k',
      payments: {
        ...budget,
        wallet: async (request) => {
          asked.push(request);
          return { offer: request.offers[0], headers: { 'payment-signature': 'SIG' } };
        },
      },
    });
    expect(await (await client.fetch('https://api/x')).text()).toBe('ok');
    expect(asked[0].paymentRequired).toBe('eyJ4NDAyVmVyc2lvbiI6Mn0');
    expect(asked[0].wwwAuthenticate).toBe('Payment id="a", realm="r"');
    expect(calls).toHaveLength(2);
    expect(calls[1].get('payment-signature')).toBe('SIG');
    expect(calls[1].get('authorization')).toBe('Bearer pg_live_k');
    expect(client.paid()).toEqual({ 'eip155:8453/USDC': '1000' });
  });

  it('moves the API key to X-API-Key when the credential takes Authorization', async () => {
    const { fetchFn, calls } = scripted(refusal([offer('10')]), new Response('ok'));
    const client = createPaygateClient({
      fetch: fetchFn,
      apiKey: 'pg_live_k',
      payments: {
        ...budget,
        wallet: async (r) => ({ offer: r.offers[0], headers: { authorization: 'Payment CRED' } }),
      },
    });
    await client.fetch('https://api/x');
    expect(calls[1].get('authorization')).toBe('Payment CRED');
    expect(calls[1].get('x-api-key')).toBe('pg_live_k');
  });

  it('shows the wallet only offers within the per-call and per-session limits, in listed assets', async () => {
    const seen: string[][] = [];
    const wallet = async (r: PaymentRequest) => {
      seen.push(r.offers.map((o) => `${o.asset}:${o.amount}`));
      return r.offers[0] && { offer: r.offers[0], headers: { 'payment-signature': 'S' } };
    };
    const { fetchFn } = scripted(
      refusal([offer('1001'), offer('900'), offer('5', 'DAI')]),
      new Response('ok'),
      refusal([offer('900')]),
    );
    const client = createPaygateClient({ fetch: fetchFn, payments: { ...budget, wallet } });
    await client.fetch('https://api/x');
    // 900 of 1500 spent: a second 900 would pass the session limit, so nothing is offered.
    await expect(client.fetch('https://api/x')).rejects.toBeInstanceOf(PaymentRequiredError);
    expect(seen).toEqual([['USDC:900']]);
    expect(client.paid()).toEqual({ 'eip155:8453/USDC': '900' });
  });

  it('pays at most once per call, and not when the wallet declines', async () => {
    let payments = 0;
    const wallet = async (r: PaymentRequest) => {
      payments++;
      return { offer: r.offers[0], headers: { 'payment-signature': 'S' } };
    };
    const { fetchFn, calls } = scripted(refusal([offer('1')]), refusal([offer('1')]));
    const client = createPaygateClient({ fetch: fetchFn, payments: { ...budget, wallet } });
    await expect(client.fetch('https://api/x')).rejects.toBeInstanceOf(PaymentRequiredError);
    expect(payments).toBe(1);
    expect(calls).toHaveLength(2);

    const declined = scripted(refusal([offer('1')]));
    const client2 = createPaygateClient({
      fetch: declined.fetchFn,
      payments: { ...budget, wallet: async () => undefined },
    });
    await expect(client2.fetch('https://api/x')).rejects.toBeInstanceOf(PaymentRequiredError);
    expect(declined.calls).toHaveLength(1);
    expect(client2.paid()).toEqual({});
  });

  it('refuses a wallet answer outside the budget, and never resends it', async () => {
    const { fetchFn, calls } = scripted(refusal([offer('10')]));
    const client = createPaygateClient({
      fetch: fetchFn,
      payments: {
        ...budget,
        wallet: async () => ({ offer: offer('999999'), headers: { 'payment-signature': 'S' } }),
      },
    });
    await expect(client.fetch('https://api/x')).rejects.toThrow(/budget/);
    expect(calls).toHaveLength(1);
  });
});
