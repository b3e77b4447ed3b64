/** A finished turn as the memory policy sees it. */
export interface TurnForMemory {
  userText: string;
}

/**
 * What the user stated about themselves, in sentences worth keeping. Heuristics, not understanding:
 * a sentence is kept when it starts (after an optional "also", "and", "btw") with one of
 *  - "remember (that) X"       -> "X"
 *  - "my name is X", "call me X"  -> "The user's name is X"
 *  - "my X is Y" / "my X are Y"   -> "The user's X is Y"
 *  - "I like / love / prefer / hate / dislike / don't like X" -> "The user likes X" (and so on)
 *  - "I am / I'm a X", "I work at / as X", "I live in X" -> "The user is a X" (and so on)
 * Questions are skipped ("do I like tea?"), as are sentences under 3 or over 300 characters. Each fact is
 * one sentence, trimmed of trailing punctuation; duplicates are dropped.
 */
export function extractMemories(turn: TurnForMemory): string[] {
  const facts = new Set<string>();
  for (const raw of turn.userText.split(/(?<=[.!?\n])\s+|\n+/)) {
    const sentence = raw.trim();
    if (sentence.length < 3 || sentence.length > 300 || sentence.endsWith('?')) continue;
    const s = sentence.replace(/^(also|and|btw|by the way|oh|ok|okay)[,\s]+/i, '').replace(/[.!\s]+$/, '');
    const fact = factOf(s);
    if (fact && fact.length >= 3) facts.add(fact);
  }
  return [...facts];
}

const RULES: [RegExp, (m: RegExpMatchArray) => string][] = [
  [/^(?:please\s+)?remember(?:\s+that)?\s+(.+)$/i, (m) => capitalise(m[1]!)],
  [/^my name is\s+(.+)$/i, (m) => `The user's name is ${m[1]}`],
  [/^(?:call me|i am called|i'm called)\s+(.+)$/i, (m) => `The user's name is ${m[1]}`],
  [/^my\s+([\w\s'-]{1,40}?)\s+(is|are)\s+(.+)$/i, (m) => `The user's ${m[1]!.toLowerCase()} ${m[2]!.toLowerCase()} ${m[3]}`],
  [/^i\s+(?:really\s+)?(like|love|prefer|enjoy|hate|dislike)\s+(.+)$/i, (m) => `The user ${verb(m[1]!)} ${m[2]}`],
  [/^i\s+(?:don't|do not)\s+like\s+(.+)$/i, (m) => `The user does not like ${m[1]}`],
  [/^i(?:'m| am)\s+(an?\s+.+|allergic to .+|vegetarian|vegan)$/i, (m) => `The user is ${m[1]}`],
  [/^i work (at|for|as|on|in)\s+(.+)$/i, (m) => `The user works ${m[1]!.toLowerCase()} ${m[2]}`],
  [/^i live in\s+(.+)$/i, (m) => `The user lives in ${m[1]}`],
];

function factOf(sentence: string): string | undefined {
  for (const [re, build] of RULES) {
    const m = sentence.match(re);
    if (m) return build(m);
  }
  return undefined;
}

const verb = (v: string): string => `${v.toLowerCase()}s`.replace(/ss$/, 's');
const capitalise = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
