/** Offsets: the API speaks Unicode code points, JavaScript strings are UTF-16. */

const SURROGATE = /[\uD800-\uDFFF]/;

/** Maps UTF-16 offsets to code-point offsets (identity when the text has no astral characters). */
export function codePointIndexer(text: string): (utf16: number) => number {
  if (!SURROGATE.test(text)) return (i) => i;
  const prefix = new Uint32Array(text.length + 1);
  let cp = 0;
  for (let i = 0; i < text.length; i++) {
    prefix[i] = cp;
    const c = text.charCodeAt(i);
    // A high surrogate followed by a low one is one code point: count it at the high half only.
    if (!(c >= 0xdc00 && c <= 0xdfff && i > 0 && text.charCodeAt(i - 1) >= 0xd800 && text.charCodeAt(i - 1) <= 0xdbff)) cp++;
  }
  prefix[text.length] = cp;
  // An offset inside a pair (never produced by the detectors) maps to the pair's code point.
  return (i) => prefix[i]!;
}

/** Code-point length of a string. */
export function codePointLength(text: string): number {
  if (!SURROGATE.test(text)) return text.length;
  let n = 0;
  for (const _ of text) n++;
  return n;
}
