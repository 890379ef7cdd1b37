import type { ProblemDetailVariant } from './problem-registry';
import type { Catalogue } from './translations/catalogue';
import { de, deVariants } from './translations/de';
import { es, esVariants } from './translations/es';
import { fr, frVariants } from './translations/fr';
import { ja, jaVariants } from './translations/ja';

export type { Translation } from './translations/catalogue';

/** Languages problem titles and details are served in; English is the registry's own text. */
export const PROBLEM_LANGUAGES = ['en', 'de', 'fr', 'es', 'ja'] as const;
export type ProblemLanguage = (typeof PROBLEM_LANGUAGES)[number];

/** Every language but English (the registry's own text), one file each in translations/. */
export const PROBLEM_TRANSLATIONS: Record<Exclude<ProblemLanguage, 'en'>, Catalogue> = {
  de,
  fr,
  es,
  ja,
};

/** PROBLEM_DETAIL_VARIANTS in every other language; a missing one fails to compile. */
export const PROBLEM_DETAIL_VARIANT_TRANSLATIONS: Record<
  Exclude<ProblemLanguage, 'en'>,
  Record<ProblemDetailVariant, string>
> = { de: deVariants, fr: frVariants, es: esVariants, ja: jaVariants };
