import { PROBLEM_CODES } from '@paygate/contracts';
import { negotiateLanguage } from './language';
import { buildProblem, problemLanguage } from './problem';
import {
  PROBLEM_DETAIL_VARIANTS,
  PROBLEM_REGISTRY,
  ProblemDetailVariant,
} from './problem-registry';
import { PROBLEM_DETAIL_VARIANT_TRANSLATIONS, PROBLEM_TRANSLATIONS } from './translations';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('problem translations', () => {
  it.each(Object.keys(PROBLEM_TRANSLATIONS))(
    '%s keeps every placeholder of the English text',
    (language) => {
      const catalogue = PROBLEM_TRANSLATIONS[language as keyof typeof PROBLEM_TRANSLATIONS];
      for (const code of PROBLEM_CODES) {
        expect({ code, placeholders: placeholders(catalogue[code].detail) }).toEqual({
          code,
          placeholders: placeholders(PROBLEM_REGISTRY[code].detail),
        });
      }
    },
  );

  it('renders the numbers into the translated detail', () => {
    const body = buildProblem(
      { code: 'insufficient-credits', extensions: { required: 3, balance: 1 } },
      { instance: '/x', requestId: 'r', language: 'de' },
    );
    expect(body).toMatchObject({
      title: 'Guthaben nicht ausreichend',
      detail:
        'Diese Anfrage kostet 3 Credits, Ihr Guthaben beträgt 1. Laden Sie auf, um fortzufahren.',
      code: 'INSUFFICIENT_CREDITS',
      required: 3,
    });
  });

  it('keeps a detail written by the caller, in English', () => {
    const body = buildProblem(
      { code: 'not-found', detail: 'Meter x does not exist.' },
      { instance: '/x', requestId: 'r', language: 'ja' },
    );
    expect(body).toMatchObject({ title: 'Not found', detail: 'Meter x does not exist.' });
  });
});

describe('negotiateLanguage', () => {
  it.each([
    [undefined, 'en'],
    ['de-CH, de;q=0.9, en;q=0.5', 'de'],
    ['fr-FR', 'fr'],
    ['pt-BR, es;q=0.8', 'es'],
    ['ja;q=0.2, en;q=0.1', 'ja'],
    ['pt', 'en'],
    ['en;q=0, de;q=0', 'en'],
  ])('%s → %s', (header, language) => {
    expect(negotiateLanguage(header)).toBe(language);
  });
});

describe('problem detail variants', () => {
  it.each(Object.keys(PROBLEM_DETAIL_VARIANT_TRANSLATIONS))(
    '%s has every variant, with the placeholders of the English text',
    (language) => {
      const catalogue =
        PROBLEM_DETAIL_VARIANT_TRANSLATIONS[
          language as keyof typeof PROBLEM_DETAIL_VARIANT_TRANSLATIONS
        ];
      for (const variant of Object.keys(PROBLEM_DETAIL_VARIANTS) as ProblemDetailVariant[]) {
        expect(catalogue[variant]).toBeTruthy();
        expect(placeholders(catalogue[variant])).toEqual(
          placeholders(PROBLEM_DETAIL_VARIANTS[variant]),
        );
      }
    },
  );

  it('serves a variant in the asked language, instead of the code detail', () => {
    const input = {
      code: 'validation-failed',
      variant: 'events-refused',
      extensions: { errors: [{ field: '[3].time', messages: ['too old'] }] },
    } as const;
    const de = buildProblem(input, { instance: '/events', requestId: 'r', language: 'de' });
    expect(de).toMatchObject({
      title: 'Ungültige Anfrage',
      detail: PROBLEM_DETAIL_VARIANT_TRANSLATIONS.de['events-refused'],
      errors: input.extensions.errors,
    });
    expect(buildProblem(input, { instance: '/events', requestId: 'r' }).detail).toBe(
      PROBLEM_DETAIL_VARIANTS['events-refused'],
    );
    expect(problemLanguage(input, 'ja')).toBe('ja');
  });

  it("names a variant's field with its translated detail when the 400 has no errors of its own", () => {
    const input = { code: 'bad-request', variant: 'path-encoded-slash', field: 'path' } as const;
    const fr = buildProblem(input, { instance: '/demo/a%2fb', requestId: 'r', language: 'fr' });
    const detail = PROBLEM_DETAIL_VARIANT_TRANSLATIONS.fr['path-encoded-slash'];
    expect(fr).toMatchObject({
      status: 400,
      detail,
      errors: [{ field: 'path', messages: [detail] }],
    });
    expect(problemLanguage(input, 'fr')).toBe('fr');
    // Without a field, the request as a whole.
    const whole = buildProblem(
      { code: 'bad-request', variant: 'path-backslash' },
      {
        instance: '/x',
        requestId: 'r',
      },
    );
    expect(whole.errors).toEqual([
      { field: 'request', messages: [PROBLEM_DETAIL_VARIANTS['path-backslash']] },
    ]);
  });
});
