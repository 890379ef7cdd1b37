import Negotiator from 'negotiator';
import { PROBLEM_LANGUAGES, ProblemLanguage } from './translations';

/**
 * The problem language for an Accept-Language header (RFC 9110 §12.5.4: q-values, ranges
 * like "de-CH" matching "de"); English when nothing offered is acceptable.
 */
export function negotiateLanguage(acceptLanguage: string | string[] | undefined): ProblemLanguage {
  if (!acceptLanguage) return 'en';
  const header = Array.isArray(acceptLanguage) ? acceptLanguage.join(', ') : acceptLanguage;
  const chosen = new Negotiator({ headers: { 'accept-language': header } }).language([
    ...PROBLEM_LANGUAGES,
  ]);
  return (chosen as ProblemLanguage | undefined) ?? 'en';
}
