import { PROBLEM_CODES } from '@paygate/contracts';
import { setProblemStatuses } from '@paygate/problem-details';
import { parseRouteTable } from '../routes/route-table';
import { gatewayOpenApi } from './gateway-openapi';

// The document is checked as plain JSON here: member by member, with matchers.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const routes = parseRouteTable(
  JSON.stringify({
    routes: [
      {
        name: 'demo',
        pathPrefix: '/demo',
        upstream: 'http://127.0.0.1:4000',
        feature: 'requests',
        cost: 1,
        methods: ['GET'],
      },
      {
        name: 'paid',
        pathPrefix: '/paid/',
        upstream: 'http://127.0.0.1:4000',
        feature: 'requests',
        cost: 2,
        price: {
          assets: [{ network: 'paygate:test', asset: 'TEST', payTo: 'p', amountPerUnit: '250' }],
          anonymousPlan: 'pay-as-you-go',
        },
      },
    ],
  }),
  'spec',
);

/** Every `$ref` in the document, with where it sits. */
function refs(node: unknown, at = '#'): { at: string; ref: string }[] {
  if (Array.isArray(node)) return node.flatMap((n, i) => refs(n, `${at}/${i}`));
  if (!node || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) =>
    key === '$ref' ? [{ at, ref: String(value) }] : refs(value, `${at}/${key}`),
  );
}

function resolve(doc: Json, ref: string): unknown {
  return ref
    .replace(/^#\//, '')
    .split('/')
    .reduce((node: Json, part) => node?.[part], doc);
}

describe('gatewayOpenApi', () => {
  const doc: Json = gatewayOpenApi(routes);

  it('is OpenAPI 3.1 with one path per route and its methods', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(['/demo/{path}', '/paid/{path}']);
    expect(Object.keys(doc.paths['/demo/{path}']).sort()).toEqual(['get', 'parameters']);
    expect(doc.paths['/paid/{path}'].post.operationId).toBe('paid.post');
  });

  it('lists each problem under the status this deployment answers it with', () => {
    const typesOf = (d: Json, response: string) =>
      d.components.responses[response].content['application/problem+json'].schema.allOf[1]
        .properties.type.enum as string[];
    const featureNotInPlan = 'https://paygate.dev/problems/feature-not-in-plan';
    expect(typesOf(doc, 'PaymentRequired')).toContain(featureNotInPlan);
    setProblemStatuses('feature-not-in-plan=403');
    try {
      const remapped: Json = gatewayOpenApi(routes);
      expect(typesOf(remapped, 'Forbidden')).toContain(featureNotInPlan);
      expect(typesOf(remapped, 'PaymentRequired')).not.toContain(featureNotInPlan);
      // A status left without codes names no type, rather than an enum nothing matches.
      setProblemStatuses('unauthenticated=403');
      expect(typesOf(gatewayOpenApi(routes), 'Unauthenticated')).toBeUndefined();
    } finally {
      setProblemStatuses('');
    }
  });

  it('resolves every $ref', () => {
    const dangling = refs(doc).filter(({ ref }) => resolve(doc, ref) === undefined);
    expect(dangling).toEqual([]);
  });

  it('names every problem type of the registry', () => {
    expect(doc.components.schemas.Problem.properties.type.enum).toEqual(
      PROBLEM_CODES.map((c) => `https://paygate.dev/problems/${c}`),
    );
    const payable = doc.components.responses.PaymentRequiredWithOffers;
    const types = payable.content['application/problem+json'].schema.allOf[1].properties.type.enum;
    expect(types).toEqual(
      expect.arrayContaining([
        'https://paygate.dev/problems/insufficient-credits',
        'https://paygate.dev/problems/payment-required',
        'https://paygate.dev/problems/payment-replayed',
      ]),
    );
    expect(types).not.toContain('https://paygate.dev/problems/forbidden');
  });

  it('describes the payment headers on priced routes only, and payment as a way in where anonymous', () => {
    const paid = doc.paths['/paid/{path}'].get;
    expect(paid.responses['402'].$ref).toBe('#/components/responses/PaymentRequiredWithOffers');
    expect(Object.keys(doc.components.responses.PaymentRequiredWithOffers.headers)).toEqual(
      expect.arrayContaining(['PAYMENT-REQUIRED', 'WWW-Authenticate', 'X-Request-Id']),
    );
    expect(paid.parameters).toEqual([{ $ref: '#/components/parameters/PaymentSignature' }]);
    expect(Object.keys(paid.responses.default.headers)).toEqual(
      expect.arrayContaining(['PAYMENT-RESPONSE', 'Payment-Receipt']),
    );
    expect(paid.security).toEqual(expect.arrayContaining([{ payment: [] }, { x402: [] }]));
    expect(paid.description).toMatch(/pay-as-you-go/);

    const demo = doc.paths['/demo/{path}'].get;
    expect(demo.responses['402'].$ref).toBe('#/components/responses/PaymentRequired');
    expect(demo.parameters).toEqual([]);
    expect(demo.security).toEqual([{ bearer: [] }, { apiKey: [] }]);
    expect(demo.responses.default.headers['PAYMENT-RESPONSE']).toBeUndefined();
  });

  it('keeps every method of routes that share a prefix', () => {
    const shared = parseRouteTable(
      JSON.stringify({
        routes: [
          {
            name: 'read',
            pathPrefix: '/api',
            upstream: 'http://u',
            feature: 'f',
            cost: 0,
            methods: ['GET'],
          },
          {
            name: 'write',
            pathPrefix: '/api',
            upstream: 'http://u',
            feature: 'f',
            cost: 1,
            methods: ['POST'],
          },
        ],
      }),
      'shared',
    );
    const merged: Json = gatewayOpenApi(shared);
    expect(merged.paths['/api/{path}'].get.operationId).toBe('read.get');
    expect(merged.paths['/api/{path}'].post.operationId).toBe('write.post');
  });
});
