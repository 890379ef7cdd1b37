import { BadRequestException, NotFoundException, type ValidationError } from '@nestjs/common';
import { toProblemInput } from './problem-details.filter';
import { flattenValidationErrors } from './validation';

describe('toProblemInput (what an exception answers)', () => {
  it('names a field in every 400 the framework raises', () => {
    const fastify = Object.assign(new Error('Request body size did not match Content-Length'), {
      code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH',
      statusCode: 400,
    });
    for (const err of [fastify, new BadRequestException('bad')]) {
      const input = toProblemInput(err);
      expect(input?.code).toBe('validation-failed');
      expect(input?.extensions?.errors).toEqual([
        { field: 'request', messages: [expect.any(String)] },
      ]);
    }
  });

  it('does not take a client library’s 4xx (a payment provider refusing our call) as the caller’s', () => {
    const provider = Object.assign(new Error("No such customer: 'cus_123'"), {
      type: 'StripeInvalidRequestError',
      statusCode: 400,
    });
    // Unhandled: a logged internal error, its text not shown.
    expect(toProblemInput(provider)).toBeUndefined();
  });
});

describe('toProblemInput of a path no route takes', () => {
  it('does not repeat the query, where a key sent the wrong way would be', () => {
    const input = toProblemInput(new NotFoundException('Cannot GET /v1/nothing?key=pg_live_abc'));
    expect(input).toEqual({ code: 'not-found', detail: 'Cannot GET /v1/nothing' });
    expect(toProblemInput(new NotFoundException('Cannot POST /x'))?.detail).toBe('Cannot POST /x');
    // A message of paygate's own is left as it is.
    expect(toProblemInput(new NotFoundException('meter m? not found'))?.detail).toBe(
      'meter m? not found',
    );
  });
});

describe('flattenValidationErrors', () => {
  it('names a member called "" as the body it is in', () => {
    const error: ValidationError = {
      property: '',
      constraints: { whitelistValidation: 'property  should not exist' },
    };
    expect(flattenValidationErrors([error])).toEqual([
      { field: 'body', messages: ['property  should not exist'] },
    ]);
  });
});
