import type { ProblemCode } from '@paygate/contracts';
import { PROBLEM_DETAIL_FALLBACKS, renderFilledDetail } from './detail-fallbacks';
import { buildProblem } from './problem';
import {
  PROBLEM_DETAIL_VARIANTS,
  PROBLEM_REGISTRY,
  ProblemDetailVariant,
} from './problem-registry';
import { PROBLEM_LANGUAGES, PROBLEM_TRANSLATIONS } from './translations';

const context = (language: (typeof PROBLEM_LANGUAGES)[number]) => ({
  instance: '/x',
  requestId: 'r',
  language,
});
const codes = Object.keys(PROBLEM_REGISTRY) as ProblemCode[];
const names = (template: string) => [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);

describe('every problem template is filled', () => {
  it.each(PROBLEM_LANGUAGES)(
    'renders every code and variant in %s with no members at all, and no "{" is left',
    (language) => {
      for (const code of codes) {
        const body = buildProblem({ code }, context(language));
        expect({ code, detail: body.detail }).toEqual({
          code,
          detail: expect.not.stringMatching(/[{}]/),
        });
        expect(body.title).not.toMatch(/[{}]/);
        expect(body.detail).not.toContain('…');
      }
      for (const variant of Object.keys(PROBLEM_DETAIL_VARIANTS) as ProblemDetailVariant[]) {
        const body = buildProblem({ code: 'validation-failed', variant }, context(language));
        expect(body.detail).not.toMatch(/[{}]/);
      }
    },
  );

  it('answers a customer without a subscription (no plan) without "{plan}"', () => {
    const input = {
      code: 'feature-not-in-plan',
      extensions: { feature: 'requests', plan: undefined },
    } as const;
    expect(buildProblem(input, context('en')).detail).toBe(
      'The feature requests is not part of your plan. Upgrade to use it.',
    );
    expect(buildProblem(input, context('de')).detail).toBe(
      'Die Funktion requests ist nicht Teil Ihres Tarifs. Wechseln Sie den Tarif, um sie zu nutzen.',
    );
    // With every member the full template is still served.
    expect(
      buildProblem(
        { code: 'feature-not-in-plan', extensions: { feature: 'requests', plan: 'pro' } },
        context('en'),
      ).detail,
    ).toBe('The feature requests is not part of pro. Upgrade to use it.');
  });

  it('uses the most specific fallback the members allow', () => {
    expect(
      buildProblem({ code: 'insufficient-credits', extensions: { balance: 0 } }, context('en'))
        .detail,
    ).toBe('Your balance of 0 credits is too low for this request. Top up to continue.');
  });

  it.each(PROBLEM_LANGUAGES)(
    'has, in %s, fallbacks that only name members of the full template and end with none',
    (language) => {
      for (const [code, fallbacks] of Object.entries(PROBLEM_DETAIL_FALLBACKS[language])) {
        const full =
          language === 'en'
            ? PROBLEM_REGISTRY[code as ProblemCode].detail
            : PROBLEM_TRANSLATIONS[language][code as ProblemCode].detail;
        for (const fallback of fallbacks ?? [])
          for (const name of names(fallback)) expect(names(full)).toContain(name);
        expect(names(fallbacks[fallbacks.length - 1])).toEqual([]);
      }
    },
  );

  it('never leaves a raw placeholder even without fallbacks', () => {
    expect(renderFilledDetail(['Used {used} of {limit}.'], { used: 3 })).toBe('Used 3 of ….');
  });
});
