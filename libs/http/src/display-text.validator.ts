import { ValidateBy, type ValidationOptions, buildMessage } from 'class-validator';

/**
 * What no name or description an operator types may hold, because it hides or rewrites what
 * is shown where the text is read (the operator API's answers, logs, a billing page, a
 * terminal): control characters (C0, DEL, C1: a terminal's escape sequences), the line and
 * paragraph separators (U+2028, U+2029: a line break in a name), bidirectional embeddings,
 * overrides and isolates (which show text in another order than it is stored: "Trojan
 * Source"), interlinear annotations (U+FFF9–U+FFFB), a byte order mark, and a lone UTF-16
 * surrogate (no character at all). The body parser refuses NUL and lone surrogates in any
 * JSON string already; this holds for a name however it arrives. Joiners (U+200C, U+200D)
 * and direction marks (U+200E, U+200F) stay: scripts and emoji need them.
 */
const HIDDEN =
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ufff9-\ufffb]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A carriage return not followed by a line feed: it moves a terminal's cursor back. */
const BARE_CR = /\r(?!\n)/;

/** Tab, line feed and carriage return: what a description may hold besides the above. */
const LINE_BREAKS = /[\t\n\r]/g;

/**
 * Tag characters (U+E0000–U+E007F) spell out text nobody sees ("ASCII smuggling"); the one
 * use they have is an emoji tag sequence (a black flag, tags, a cancel tag: 🏴 of Scotland).
 */
const EMOJI_TAG_SEQUENCE = /\u{1f3f4}[\u{e0020}-\u{e007e}]+\u{e007f}/gu;
const TAG = /[\u{e0000}-\u{e007f}]/u;

/**
 * A character that shows: not white space, not a format character (zero-width space, joiner,
 * word joiner, direction mark) and none of the fillers that render as blank (Hangul fillers,
 * the blank Braille pattern).
 */
const VISIBLE = /[^\p{White_Space}\p{Cf}\u115f\u1160\u3164\uffa0\u2800]/u;

/** What is shown of a text an operator typed: a name on one line, or lines (descriptions). */
export type DisplayText = 'line' | 'lines';

/**
 * Whether a text can be shown as it is: none of the characters above (a description may hold
 * tabs and line breaks, a CR only before an LF; a name none of them), tag characters only in
 * an emoji tag sequence, and at least one visible character. An empty text is left to the
 * field's length rule; what is not a string, to IsString.
 */
export function isDisplayText(value: unknown, kind: DisplayText = 'line'): boolean {
  if (typeof value !== 'string' || value.length === 0) return true;
  const text = kind === 'lines' && !BARE_CR.test(value) ? value.replace(LINE_BREAKS, ' ') : value;
  if (HIDDEN.test(text)) return false;
  if (TAG.test(text.replace(EMOJI_TAG_SEQUENCE, ''))) return false;
  return VISIBLE.test(text);
}

/** Validates a name (`line`) or a description (`lines`) an operator typed: isDisplayText. */
export function IsDisplayText(
  kind: DisplayText = 'line',
  options?: ValidationOptions,
): PropertyDecorator {
  const allowed = kind === 'line' ? 'one line of visible text' : 'visible text';
  return ValidateBy(
    {
      name: 'isDisplayText',
      constraints: [kind],
      validator: {
        validate: (value: unknown) => isDisplayText(value, kind),
        defaultMessage: buildMessage(
          (each) =>
            `${each}$property must be ${allowed}, without control, bidirectional-control or other hidden characters`,
          options,
        ),
      },
    },
    options,
  );
}
