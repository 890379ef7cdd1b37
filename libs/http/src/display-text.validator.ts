import { ValidateBy, type ValidationOptions, buildMessage } from 'class-validator';

/**
 * What no name or description an operator types may hold, because it hides or rewrites what
 * is shown where the text is read (the operator API's answers, logs, a billing page, a
 * terminal): control characters (C0, DEL, C1: a terminal's escape sequences, a NUL that
 * Postgres refuses in text with a 500), bidirectional embeddings, overrides and isolates
 * (which display text in another order than it is stored: "Trojan Source"), a lone UTF-16
 * surrogate (no character at all; Postgres would store U+FFFD or refuse it), and a byte order
 * mark. Joiners (U+200C, U+200D) and direction marks (U+200E, U+200F) stay: scripts and emoji
 * need them.
 */
const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ufeff]/;
/** The same, but for tab, line feed and carriage return: a description may have lines. */
const HIDDEN_BUT_LINES =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ufeff]/;

/** A UTF-16 surrogate without its pair. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What is shown of a text an operator typed: a name on one line, or lines (descriptions). */
export type DisplayText = 'line' | 'lines';

/**
 * Whether a text can be shown as it is: none of the characters above (a description may hold
 * line breaks and tabs, a name may not), no unpaired surrogate, and not blank (only spaces).
 * What is not a string is left to IsString.
 */
export function isDisplayText(value: unknown, kind: DisplayText = 'line'): boolean {
  if (typeof value !== 'string') return true;
  if ((kind === 'line' ? HIDDEN : HIDDEN_BUT_LINES).test(value)) return false;
  return !LONE_SURROGATE.test(value) && (value.length === 0 || value.trim().length > 0);
}

/** Validates a name (`line`) or a description (`lines`) an operator typed: isDisplayText. */
export function IsDisplayText(
  kind: DisplayText = 'line',
  options?: ValidationOptions,
): PropertyDecorator {
  const allowed = kind === 'line' ? 'one line of text' : 'text';
  return ValidateBy(
    {
      name: 'isDisplayText',
      constraints: [kind],
      validator: {
        validate: (value: unknown) => isDisplayText(value, kind),
        defaultMessage: buildMessage(
          (each) =>
            `${each}$property must be ${allowed}: not blank, and without control, bidirectional-override or unpaired surrogate characters`,
          options,
        ),
      },
    },
    options,
  );
}
