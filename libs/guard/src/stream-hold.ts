import { NOT_NAME_WORDS } from './pii/names';

/**
 * Where a streamed text stops being final: the earliest point from which a value the detectors
 * (pii/detect.ts) would report could still be growing, or be judged differently once more text arrives.
 * Everything before that point can be released: the detectors will find the same values there, with the
 * same extents, however the stream goes on.
 *
 * The text is read as whitespace-separated tokens. A *plain* token (lower-case letters, at most two trailing
 * digits, punctuation around: `hello,` `w12` `e-mail`) cannot start a value that reaches past it, and no
 * detector reads it as a cue that looks forward. Every other token opens a *run*: consecutive non-plain
 * tokens, plus up to `reach` plain tokens between them where a value may hold lower-case words ("12 main
 * road Street", "via di santa maria 5"). A run is final once it is closed (more than `reach` complete plain
 * tokens follow it) and enough characters follow it for the detectors that look ahead of a value
 * (`lookahead`: a name's "said", "'s address", an appositive; an address's postal lines).
 */

/** Month names and address words after which a value goes on in the next token (DATE, unit, box, military). */
const START_NEXT = new Set(
  (
    'jan january januar feb february februar mar march märz apr april may mai jun june juni jul july juli aug august ' +
    'sep sept september oct october okt oktober nov november dec december dez dezember ' +
    'apt apartment suite ste unit flat box postbox po p.o psc cmr apo fpo dpo uss usns usnv usncs usnfs'
  ).split(' '),
);
/** Address words after which up to four words may come before the house number (ADDRESS_ROMANCE). */
const START_FAR = new Set(
  (
    'rue avenue boulevard bd chemin allée place impasse via viale piazza corso largo calle avenida avda paseo plaza ' +
    'carrer rua travessa praça ul ulica u str strada aleea odos οδός'
  ).split(' '),
);
/** Lower-case particles inside a name (detect.ts PARTICLE): they join the capitalised words around them. */
const PARTICLES = new Set('de van von der den da di du la le dos das del della ter ten bin ibn al'.split(' '));

/** Cues after which the rest of the clause is an address (detect.ts ADDRESS_CUE_ANYWHERE, kept in step). */
const ADDRESS_CUE_BEFORE =
  /\b(?:(?:the\s+)?corner\s+of|lives?\s+(?:at|on)|north\s+side\s+of|living\s+at|address(?:\s+is)?\s*:?|located\s+at|office\s+is\s+at|send\s+(?:it|them|this|a\s+new\s+one)?\s*to|drops?\s+you\s+off\s+at|moved\s+to|ship(?:ped)?\s+to|deliver(?:ed)?\s+to|adresse\s*:?|anschrift\s*:?|dirección\s*:?)\s*$/i;

/**
 * A line that may still become an address line (detect.ts ADDRESS_LINE: a word, up to three more, a house
 * number, then a line that starts with a capital or a unit). Written so that every prefix of a text it
 * matches also matches: once it fails, more text cannot make it match again.
 */
const ADDRESS_LINE_OPEN =
  /^[\p{L}][\p{L}'.-]*(?:[ \t]+[\p{L}'.-]*){0,3}(?:[ \t]+\d{0,4}[A-Za-z]?\.?)?[ \t]*(?:\n[ \t>]*(?:a|ap|apt|s|su|sui|suit|u|un|uni)?)?$/iu;

const LEADING_PUNCT = /^["'(“‘[]+/;
const TRAILING_PUNCT = /[,.;:!?"'’”)\]]+$/;
const PLAIN_WORD = /^\p{Ll}[\p{Ll}\p{M}'’-]*\d{0,2}$/u;
const IBAN_HEAD = /^[a-z]{2}\d{2}$/i;
const CAP_WORD = /^\p{Lu}[\p{L}\p{M}'’.-]*$/u;
const PUNCT_ONLY = /^[-–—,.;:!?"'’”“()…*[\]]+$/;

/** Characters that must follow a run before it is final, by what it holds. */
const LOOKAHEAD = { name: 64, address: 160, cuedAddress: 96 } as const;
/** Values are shorter than this: in a run longer than it (a table of numbers) the old part is final. */
const LONGEST_VALUE = 256;

type Kind = 'plain' | 'particle' | 'startNext' | 'startFar' | 'cap' | 'capWeak' | 'digits' | 'symbol';

function kindOf(token: string): Kind {
  const core = token.replace(LEADING_PUNCT, '').replace(TRAILING_PUNCT, '');
  const lower = core.toLowerCase();
  if (core === '') return PUNCT_ONLY.test(token) ? 'plain' : 'symbol';
  if (START_NEXT.has(lower)) return 'startNext';
  if (START_FAR.has(lower)) return 'startFar';
  if (PARTICLES.has(core)) return 'particle';
  if (PLAIN_WORD.test(core) && !IBAN_HEAD.test(core)) return 'plain';
  if (CAP_WORD.test(core)) {
    // A lone capital (I, A) or a word that is never a name cannot make a name on its own.
    const word = lower.replace(/['’]s$/, '').replace(/\.$/, '');
    return core.length === 1 || NOT_NAME_WORDS.has(word) ? 'capWeak' : 'cap';
  }
  if (/\d/.test(core)) return 'digits';
  // An e-mail, a URL, a key: one token, final once it is complete; with a capital it may be part of a name.
  return /\p{Lu}/u.test(core) ? 'cap' : 'symbol';
}

interface Run {
  start: number;
  end: number;
  /** Token starts, for cutting inside a long run. */
  starts: number[];
  digits: boolean;
  startFar: boolean;
  startNext: boolean;
  cap: boolean;
  capWeak: boolean;
  /** Ends in a token that is still arriving. */
  open: boolean;
  /** Complete plain tokens after the run so far. */
  plainAfter: number;
}

/** Plain tokens that may stand between this run and a token that continues its value. */
function reach(r: Run): number {
  if (r.digits || r.startFar || r.open) return 4;
  return r.startNext ? 1 : 0;
}

function lookahead(r: Run, text: string): number {
  if (ADDRESS_CUE_BEFORE.test(text.slice(Math.max(0, r.start - 48), r.start))) return LOOKAHEAD.cuedAddress;
  if (r.digits && (r.cap || r.capWeak || r.startFar || r.startNext)) return LOOKAHEAD.address;
  return r.cap ? LOOKAHEAD.name : 0;
}

/** Earliest start of a run that is not final yet (`text.length` when everything is). */
function openRunStart(text: string, r: Run): number {
  const closed = r.plainAfter > reach(r);
  const need = lookahead(r, text);
  if (closed && text.length - r.end >= need) return text.length;
  // Tokens further back than any value is long (plus the look-ahead) are final even in an unclosed run.
  const oldest = text.length - need - LONGEST_VALUE;
  return r.starts.find((s) => s >= oldest) ?? r.start;
}

/**
 * The offset in `text` before which everything is final. `text` is the already released context followed
 * by the held buffer; tokens are read over all of it so that a run begun in the context is seen whole.
 */
export function finalUpTo(text: string): number {
  let hold = text.length;
  const endsInSpace = /\s$/.test(text);
  let run: Run | undefined;
  const finish = () => {
    if (run) hold = Math.min(hold, openRunStart(text, run));
    run = undefined;
  };
  for (const m of text.matchAll(/\S+/g)) {
    const start = m.index;
    const end = start + m[0].length;
    const open = end === text.length && !endsInSpace;
    const kind: Kind = open ? 'digits' : kindOf(m[0]);
    if (isLineStart(text, start) && ADDRESS_LINE_OPEN.test(text.slice(start, start + 160))) hold = Math.min(hold, start);
    if (kind === 'plain') {
      if (run && ++run.plainAfter > reach(run)) finish();
      continue;
    }
    if (!run) run = { start, end, starts: [], digits: false, startFar: false, startNext: false, cap: false, capWeak: false, open: false, plainAfter: 0 };
    run.end = end;
    run.starts.push(start);
    run.plainAfter = 0;
    run.open ||= open;
    if (kind === 'digits') run.digits = true;
    else if (kind === 'startFar') run.startFar = true;
    else if (kind === 'startNext') run.startNext = true;
    else if (kind === 'cap') run.cap = true;
    else if (kind === 'capWeak') run.capWeak = true;
  }
  finish();
  return hold;
}

/** At the start of a line (after `\n` and indentation or `>` quoting), the way detect.ts's ADDRESS_LINE reads it. */
function isLineStart(text: string, at: number): boolean {
  let i = at - 1;
  while (i >= 0 && (text[i] === ' ' || text[i] === '\t' || text[i] === '>')) i--;
  return i < 0 || text[i] === '\n';
}
