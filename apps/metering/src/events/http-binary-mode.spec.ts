import { binaryModeEvent, isBinaryMode } from './http-binary-mode';

/** Header lines as Node hands them over (`rawHeaders`): name, value, name, value… */
const lines = (...more: string[]) => [
  'Content-Type',
  'application/json',
  'ce-specversion',
  '1.0',
  'ce-id',
  'e1',
  'ce-source',
  '/svc',
  ...more,
];

describe('isBinaryMode', () => {
  it('is the spec version in a header, unless the media type is a structured event', () => {
    expect(isBinaryMode({ 'ce-specversion': '1.0', 'content-type': 'application/json' })).toBe(
      true,
    );
    expect(
      isBinaryMode({ 'ce-specversion': '1.0', 'content-type': 'application/cloudevents+json' }),
    ).toBe(false);
    expect(isBinaryMode({ 'content-type': 'application/json' })).toBe(false);
  });
});

describe('binaryModeEvent', () => {
  it('makes the event of the ce- headers, percent-decoded, names in any case', () => {
    expect(binaryModeEvent(lines('CE-Subject', 'caf%C3%A9'), { tokens: 1 })).toEqual({
      ok: true,
      event: {
        specversion: '1.0',
        id: 'e1',
        source: '/svc',
        subject: 'café',
        datacontenttype: 'application/json',
        data: { tokens: 1 },
      },
    });
  });

  it('keeps a comma inside one value: one header line, one value', () => {
    const made = binaryModeEvent(lines('ce-subject', 'a1, a2'), {});
    expect(made.ok && made.event.subject).toBe('a1, a2');
  });

  it('refuses a ce- header given twice, whatever its case or values, naming it once', () => {
    expect(binaryModeEvent(lines('ce-id', 'a2'), {})).toEqual({
      ok: false,
      errors: [{ field: 'ce-id', messages: ['must be sent once'] }],
    });
    expect(binaryModeEvent(lines('CE-ID', 'e1', 'Ce-Id', 'e1'), {})).toEqual({
      ok: false,
      errors: [{ field: 'ce-id', messages: ['must be sent once'] }],
    });
    // An empty second line is a second line too.
    expect(binaryModeEvent(lines('ce-subject', 'c1', 'ce-subject', ''), {})).toEqual({
      ok: false,
      errors: [{ field: 'ce-subject', messages: ['must be sent once'] }],
    });
  });

  it('names every bad header of the request, each once, and makes no event', () => {
    expect(
      binaryModeEvent(
        lines('ce-time', '%E0%A4%A', 'ce-source', '/other', 'ce-type', 't', 'ce-time', 'x'),
        {},
      ),
    ).toEqual({
      ok: false,
      errors: [
        { field: 'ce-source', messages: ['must be sent once'] },
        { field: 'ce-time', messages: ['must be sent once'] },
      ],
    });
    expect(binaryModeEvent(lines('ce-type', '%E0%A4%A', 'ce-id', 'e2'), {})).toEqual({
      ok: false,
      errors: [
        { field: 'ce-id', messages: ['must be sent once'] },
        { field: 'ce-type', messages: ['must be percent-encoded UTF-8'] },
      ],
    });
  });
});
