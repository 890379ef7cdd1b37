/**
 * The first member name that appears twice in one object of `text`, which must be valid JSON
 * (JSON.parse accepted it), or undefined. RFC 8259 §4 says names SHOULD be unique and that
 * receivers then disagree on what such an object means; JSON.parse keeps the last, another
 * consumer of the same event may keep the first, so paygate refuses it instead of choosing.
 * One pass over the text, no tree (a usage event is parsed on the consumer's hot path); names
 * with escapes are compared decoded ("a" and "\u0061" are the same name).
 */
export function repeatedMember(text: string): string | undefined {
  // One entry per open object (its names so far) or array (null).
  const open: (Set<string> | null)[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i;
      let escaped = false;
      i++;
      while (i < n && text.charCodeAt(i) !== QUOTE) {
        if (text.charCodeAt(i) === BACKSLASH) {
          escaped = true;
          i++;
        }
        i++;
      }
      const end = i;
      i++;
      const names = open[open.length - 1];
      if (!names) continue;
      // In an object, a string followed by ':' is a name; values are followed by ',' or '}'.
      let j = i;
      while (j < n && WHITESPACE.has(text.charCodeAt(j))) j++;
      if (text.charCodeAt(j) !== COLON) continue;
      const name = escaped
        ? (JSON.parse(text.slice(start, end + 1)) as string)
        : text.slice(start + 1, end);
      if (names.has(name)) return name;
      names.add(name);
      continue;
    }
    if (c === OPEN_OBJECT) open.push(new Set());
    else if (c === OPEN_ARRAY) open.push(null);
    else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) open.pop();
    i++;
  }
  return undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
