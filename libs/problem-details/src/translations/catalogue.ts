import type { ProblemCode } from '@paygate/contracts';

export interface Translation {
  title: string;
  /** Same `{name}` placeholders as the English detail. */
  detail: string;
}

/**
 * A language's text for every code: a Record over every code, so a new code without its
 * translations fails to compile, and no language silently falls back to English.
 */
export type Catalogue = Record<ProblemCode, Translation>;
