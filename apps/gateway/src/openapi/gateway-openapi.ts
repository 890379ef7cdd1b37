import type { ProblemCode } from '@paygate/contracts';
import {
  FIELD_PROBLEM_SCHEMA,
  problemCodesWith,
  problemOfCodes,
  problemSchema,
} from '@paygate/problem-details';
import { HTTP_METHODS, type RouteDefinition } from '../routes/route';

/**
 * The gateway's side of every API behind it, as OpenAPI 3.1: for each route of the current
 * table, how a caller authenticates (API key, or a payment where the route is priced), the
 * problems it may get (RFC 9457, with their stable `type`s) and the payment headers of a
 * priced route (x402 v2 and the "Payment" HTTP auth scheme, docs/payments.md). The upstream's
 * own answers are left to the upstream's document (`default`). Built from the route table and
 * the problem registry at request time, so it says what this gateway does now.
 */
export function gatewayOpenApi(routes: RouteDefinition[]): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const route of routes) {
    const base = route.pathPrefix.replace(/\/+$/, '');
    // Routes may share a prefix (split by methods or hosts): their operations share the path.
    const operations = (paths[`${base}/{path}`] as Record<string, unknown> | undefined) ?? {
      parameters: [
        {
          name: 'path',
          in: 'path',
          required: true,
          description: `Anything below ${route.pathPrefix}, forwarded to the upstream${route.stripPrefix ? ' without the prefix' : ''}.`,
          schema: { type: 'string' },
        },
      ],
    };
    for (const method of route.methods ?? HTTP_METHODS) {
      const key = method.toLowerCase();
      // Host-bound routes of one prefix and method: the first in the table is documented.
      if (!(key in operations)) operations[key] = operation(route, method);
    }
    paths[`${base}/{path}`] = operations;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'APIs behind paygate',
      version: '1',
      description:
        'What the paygate gateway adds to each route: authentication, the refusals as RFC 9457 problem details (application/problem+json, a stable `type`, `X-Request-Id`), and on priced routes the machine-payable 402 (x402 v2 `PAYMENT-REQUIRED` / `PAYMENT-SIGNATURE` / `PAYMENT-RESPONSE` and the "Payment" HTTP authentication scheme). Routes bound to hosts answer only for them.',
    },
    paths,
    components: components(),
  };
}

function operation(route: RouteDefinition, method: string): Record<string, unknown> {
  const price = route.price;
  const anonymous = price?.anonymousPlan !== undefined;
  const assets = price?.assets.map((a) => `${a.amountPerUnit} of ${a.asset} on ${a.network}`);
  const description = [
    `Feature \`${route.feature}\`, ${route.cost} unit(s) a request${route.costFrom ? ' at least (more from the request, see costFrom)' : ''}.`,
    price ? `Priced: a credit costs ${assets?.join(', or ')} (per call extra where set).` : '',
    anonymous
      ? `Anonymous pay-per-call: a request without an API key pays for itself (priced by plan \`${price?.anonymousPlan}\`).`
      : '',
  ]
    .filter(Boolean)
    .join(' ');
  const security: Record<string, string[]>[] = [{ bearer: [] }, { apiKey: [] }];
  if (anonymous) security.push({ payment: [] }, { x402: [] });
  const paid = price ? { ...RECEIPT_HEADERS } : {};
  return {
    operationId: `${route.name}.${method.toLowerCase()}`,
    summary: `${method} ${route.pathPrefix} (route ${route.name})`,
    description,
    security,
    parameters: price ? [{ $ref: '#/components/parameters/PaymentSignature' }] : [],
    responses: {
      default: {
        description: "The upstream's answer, with the gateway's headers.",
        headers: { ...REQUEST_ID, ...RATE_LIMIT_HEADERS, ...paid },
      },
      '400': { $ref: '#/components/responses/BadRequest' },
      '401': { $ref: '#/components/responses/Unauthenticated' },
      '402': price
        ? { $ref: '#/components/responses/PaymentRequiredWithOffers' }
        : { $ref: '#/components/responses/PaymentRequired' },
      '403': { $ref: '#/components/responses/Forbidden' },
      '429': { $ref: '#/components/responses/RateLimited' },
      '503': { $ref: '#/components/responses/Unavailable' },
    },
  };
}

const problemResponse = (description: string, codes: ProblemCode[], headers = {}) => ({
  description: `${description} Problem types: ${codes.map((c) => `\`${c}\``).join(', ')}.`,
  headers: { ...REQUEST_ID, ...headers },
  content: { 'application/problem+json': { schema: problemOfCodes(codes) } },
});

const header = (description: string) => ({ description, schema: { type: 'string' } });

const REQUEST_ID = { 'X-Request-Id': header('The request id, also in the logs.') };

const RATE_LIMIT_HEADERS = {
  RateLimit: header('draft-ietf-httpapi-ratelimit-headers: what is left of the window.'),
  'RateLimit-Policy': header('The limit and window of the plan.'),
};

const RECEIPT_HEADERS = {
  'PAYMENT-RESPONSE': header(
    'x402 v2 settlement response (base64 JSON), when the request paid with PAYMENT-SIGNATURE.',
  ),
  'Payment-Receipt': header(
    'Payment-scheme receipt, when the request paid with `Authorization: Payment`.',
  ),
};

const OFFER_HEADERS = {
  'PAYMENT-REQUIRED': header(
    'x402 v2 PaymentRequired (base64 JSON): `x402Version` 2, `resource`, `accepts[]` (one offer per asset: scheme, network, asset, amount, payTo, maxTimeoutSeconds).',
  ),
  'WWW-Authenticate': header(
    '`Payment id=…, realm=…, method=…, intent=…, request=…, expires=…`, one challenge per asset (the id binds the rest by HMAC); with `Bearer realm="paygate"` where a key is also accepted.',
  ),
  ...RECEIPT_HEADERS,
};

/** Built per document: the problems' statuses are this deployment's (PROBLEM_STATUSES). */
const components = () => ({
  securitySchemes: {
    bearer: { type: 'http', scheme: 'bearer', description: 'The API key.' },
    apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'The API key.' },
    payment: {
      type: 'http',
      scheme: 'Payment',
      description:
        'draft-ryan-httpauth-payment: a credential answering one of the 402 challenges. With an API key, the key goes in X-API-Key.',
    },
    x402: {
      type: 'apiKey',
      in: 'header',
      name: 'PAYMENT-SIGNATURE',
      description: 'x402 v2 payment payload (base64 JSON) for one of the 402 `accepts[]` offers.',
    },
  },
  parameters: {
    PaymentSignature: {
      name: 'PAYMENT-SIGNATURE',
      in: 'header',
      required: false,
      description:
        'x402 v2 payment for one of the offers of a 402 (base64 JSON, at most 8 KiB). The request is then paid, served and answered with PAYMENT-RESPONSE; never forwarded upstream.',
      schema: { type: 'string' },
    },
  },
  schemas: {
    Problem: problemSchema({
      link: { type: 'string', format: 'uri', description: 'Where to fix it (billing page).' },
      plan: { type: 'string' },
      feature: { type: 'string' },
      balance: { type: 'integer' },
      required: { type: 'integer' },
      limit: { type: 'integer' },
      used: { type: 'integer' },
      resetsAt: { type: 'string', format: 'date-time' },
      reason: { type: 'string', description: 'Why a payment was not accepted.' },
      payment: { $ref: '#/components/schemas/PaymentOffers' },
    }),
    FieldProblem: FIELD_PROBLEM_SCHEMA,
    PaymentOffers: {
      type: 'object',
      description:
        'The offers of a payable 402, as in its PAYMENT-REQUIRED and WWW-Authenticate headers.',
      additionalProperties: true,
    },
  },
  responses: {
    BadRequest: problemResponse(
      'A request the gateway cannot route as sent (an encoded slash, a malformed path or header, a cost header that is not decimal digits); `errors` names what to correct.',
      problemCodesWith(400),
    ),
    Unauthenticated: problemResponse('No valid API key.', problemCodesWith(401), {
      'WWW-Authenticate': header('`Bearer realm="paygate"`'),
    }),
    PaymentRequired: problemResponse('Pay to continue (billing `link`).', problemCodesWith(402)),
    PaymentRequiredWithOffers: problemResponse(
      'Pay to continue: a refusal a payment can cure (insufficient-credits, payment-required, and the refused payments) carries offers a program can pay and retry with.',
      problemCodesWith(402),
      OFFER_HEADERS,
    ),
    Forbidden: problemResponse('Not allowed, and paying would not help.', problemCodesWith(403)),
    RateLimited: problemResponse('Too many requests.', problemCodesWith(429), {
      'Retry-After': header('Seconds until the window resets.'),
      ...RATE_LIMIT_HEADERS,
    }),
    Unavailable: problemResponse('Try again shortly.', problemCodesWith(503), {
      'Retry-After': header('Seconds to wait.'),
    }),
  },
});
