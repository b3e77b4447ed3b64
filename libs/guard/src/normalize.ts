/**
 * Normalisation for detection (never for output): the text an attacker wrote is folded towards the text a
 * detector expects, and encoded payloads are decoded so they are checked too.
 *
 * Steps, in order: zero-width and bidi controls stripped; NFKC (full-width and mathematical letters become
 * ASCII); confusables (Cyrillic and Greek look-alikes) mapped to Latin; lower case; leetspeak folded inside
 * words that mix letters with digits or symbols; letters spaced out one by one (`i g n o r e`) joined;
 * whitespace collapsed. Base64, hex and URL-encoded runs are decoded separately (`decoded`).
 */

/** Zero-width characters, bidi controls and invisible formatting (soft hyphen, word joiner, BOM, tags). */
// The class lists invisible code points one by one (combining joiner and variation selectors among them), on purpose.
// eslint-disable-next-line no-misleading-character-class
const INVISIBLE = /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0]|\uDB40[\uDC00-\uDC7F]/g;

/** Look-alikes that NFKC keeps apart from Latin letters: Cyrillic, Greek, a few others. */
const CONFUSABLES: Record<string, string> = {
  а: 'a', в: 'b', с: 'c', ԁ: 'd', е: 'e', ё: 'e', һ: 'h', і: 'i', ї: 'i', ј: 'j', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p',
  ԛ: 'q', ѕ: 's', т: 't', у: 'y', х: 'x', ԝ: 'w', ь: 'b', г: 'r', п: 'n', и: 'u', л: 'n',
  А: 'a', В: 'b', С: 'c', Е: 'e', Н: 'h', І: 'i', Ј: 'j', К: 'k', М: 'm', О: 'o', Р: 'p', Ѕ: 's', Т: 't', Х: 'x', У: 'y',
  α: 'a', β: 'b', ε: 'e', η: 'n', ι: 'i', κ: 'k', ν: 'v', ο: 'o', ρ: 'p', τ: 't', υ: 'u', χ: 'x', ω: 'w',
  Α: 'a', Β: 'b', Ε: 'e', Ζ: 'z', Η: 'h', Ι: 'i', Κ: 'k', Μ: 'm', Ν: 'n', Ο: 'o', Ρ: 'p', Τ: 't', Υ: 'y', Χ: 'x',
  ı: 'i', ȷ: 'j', ɡ: 'g', ɑ: 'a', ℓ: 'l', '∣': 'l', ǀ: 'l',
};
const CONFUSABLE_RE = new RegExp(`[${Object.keys(CONFUSABLES).join('')}]`, 'g');
/** Cyrillic or Greek letters: the confusables map runs only on words that also hold Latin letters. */
const NON_LATIN_LETTER = /[\u0370-\u03FF\u0400-\u04FF]/;

const LEET: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '9': 'g', '@': 'a', $: 's', '!': 'i', '|': 'l', '+': 't' };
/** A word of letters mixed with leet characters (`1gn0r3`, `pr0mpt`, `@ll`), at least one letter. */
const LEET_WORD = /[a-z0-9@$!|+]*[a-z][a-z0-9@$!|+]*/g;
const HAS_LEET = /[0-9@$!|+]/;
/** Letters spaced out: `i g n o r e`, `s.a.y`, `d-a-n` (four or more single letters). */
const SPACED = /(?<![a-z])(?:[a-z][ .\-_*]{1,2}){3,}[a-z](?![a-z])/g;

export interface Normalized {
  /** The folded text the injection rules run on. */
  text: string;
  /** Plain texts decoded from base64, hex or URL-encoded runs in the input (each checked as well). */
  decoded: string[];
  /** Invisible/bidi characters removed (a weak signal by itself). */
  invisibleCount: number;
  /** Words mixing Latin with Cyrillic/Greek look-alikes. */
  mixedScriptWords: number;
  /** Runs of eight or more letters spaced out one by one (`s a y t h a t`). */
  spacedRuns: number;
}

export function stripInvisible(text: string): { text: string; count: number } {
  let count = 0;
  const out = text.replace(INVISIBLE, () => {
    count++;
    return '';
  });
  return { text: out, count };
}

function foldConfusables(text: string): { text: string; mixed: number } {
  if (!NON_LATIN_LETTER.test(text)) return { text, mixed: 0 };
  let mixed = 0;
  // Only words that mix scripts are folded, so genuine Russian or Greek text is left as it is.
  const out = text.replace(/[\p{L}\p{M}]+/gu, (word) => {
    if (!NON_LATIN_LETTER.test(word) || !/[a-zA-Z]/.test(word)) return word;
    mixed++;
    return word.replace(CONFUSABLE_RE, (c) => CONFUSABLES[c] ?? c);
  });
  return { text: out, mixed };
}

function foldLeet(text: string): string {
  return text.replace(LEET_WORD, (word) => {
    if (!HAS_LEET.test(word)) return word;
    // A number with a unit (`4k`, `10x`) or an id is not leetspeak: require at least two letters.
    const letters = word.replace(/[^a-z]/g, '').length;
    if (letters < 2) return word;
    // Punctuation at the end of a word (`stop!`, `c++`) stays punctuation.
    const tail = /[!|+$@]+$/.exec(word)?.[0] ?? '';
    const body = word.slice(0, word.length - tail.length);
    return body.replace(/[0-9@$!|+]/g, (c) => LEET[c] ?? c) + tail;
  });
}

export function foldText(raw: string): Omit<Normalized, 'decoded'> {
  const invisible = stripInvisible(raw);
  let text = invisible.text.normalize('NFKC');
  const conf = foldConfusables(text);
  text = conf.text.toLowerCase();
  text = foldLeet(text);
  let spacedRuns = 0;
  text = text.replace(SPACED, (m) => {
    const joined = m.replace(/[ .\-_*]/g, '');
    if (joined.length >= 8) spacedRuns++;
    return joined;
  });
  text = text.replace(/\s+/g, ' ');
  return { text, invisibleCount: invisible.count, mixedScriptWords: conf.mixed, spacedRuns };
}

const BASE64_RUN = /(?:[A-Za-z0-9+/]{4}){4,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?|(?:[A-Za-z0-9_-]{4}){5,}/g;
const HEX_RUN = /\b(?:[0-9a-fA-F]{2}[ :]?){12,}\b/g;
const URL_ENCODED = /(?:%[0-9a-fA-F]{2}[^\s%]{0,3}){4,}/g;

/** Mostly printable text: at least 85% of characters are letters, digits, punctuation or spaces. */
function printable(s: string): boolean {
  if (s.length < 8) return false;
  let ok = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 0x20 && c < 0x7f) || c === 10 || c === 13 || c === 9 || c >= 0xa0) ok++;
  }
  if (s.includes('\uFFFD')) return false;
  return ok / s.length >= 0.85 && /[a-zA-Z]{3}/.test(s);
}

/** Decodes the encoded runs of `text` (one level; nested encodings are decoded once more). */
export function decodePayloads(text: string, depth = 2): string[] {
  const out: string[] = [];
  if (text.length < 16) return out;
  for (const m of text.matchAll(BASE64_RUN)) {
    const run = m[0];
    if (run.length < 16 || !/[a-z]/.test(run) || !/[A-Z0-9]/.test(run)) continue;
    const s = Buffer.from(run.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
    if (printable(s)) out.push(s);
  }
  for (const m of text.matchAll(HEX_RUN)) {
    const s = Buffer.from(m[0].replace(/[ :]/g, ''), 'hex').toString('utf8');
    if (printable(s)) out.push(s);
  }
  if (text.includes('%')) {
    for (const m of text.matchAll(URL_ENCODED)) {
      try {
        const s = decodeURIComponent(m[0]);
        if (printable(s)) out.push(s);
      } catch {
        // a malformed escape: nothing decoded
      }
    }
  }
  if (depth > 1) for (const s of [...out]) out.push(...decodePayloads(s, depth - 1));
  return out;
}

export function normalizeForDetection(raw: string): Normalized {
  const folded = foldText(raw);
  return { ...folded, decoded: decodePayloads(stripInvisible(raw).text) };
}
