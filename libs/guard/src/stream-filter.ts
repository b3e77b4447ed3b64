import type { EntityFinding, OutputPolicy } from '@keelson/contracts';
import { applySpans, wantedTypes, type OutputFilterContext } from './output-filter';
import { detectSpans, type Span } from './pii/detect';
import type { PendingPseudonym } from './pseudonyms';
import { finalUpTo } from './stream-hold';
import { codePointLength } from './text';

export interface StreamFilterOptions {
  /**
   * Most characters held for an unbroken token (a JWT, a base64 blob): past this it is released, redacted as
   * far as it can be judged, keeping the last 256 characters. An unterminated PEM block is held from its BEGIN
   * line until its END line or the end of the stream. Default 16 384.
   */
  maxHold?: number;
  /** Characters of already-released text kept as context for the detectors' cues ("Phone:"). Default 64. */
  context?: number;
}

const PEM_BEGIN = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/;
const PEM_END = /-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/;
const PEM_BEGIN_PREFIX = /-(?:-(?:-(?:-(?:-(?:B(?:E(?:G(?:I(?:N(?: [A-Z0-9 ]*)?)?)?)?)?)?)?)?)?)?$/;
/** What is kept of an over-long unbroken token when it is released past `maxHold`. */
const FORCED_TAIL = 256;
/** Name words remembered per stream: bounds the memory and the pattern's size. */
const MAX_NAME_WORDS = 256;
const LETTER = /\p{L}/u;
const LETTER_RUN = /\p{L}+/gu;
const LETTER_RUN_AT_START = /^\p{L}+/u;
/**
 * Stands for the released text before the context window: not whitespace, not a letter, so the window's first
 * word is not read as the start of the stream or of a line (detect.ts anchors ADDRESS_LINE and speaker lines there).
 */
const CUT_MARK = '\u0001';

/**
 * Filters a stream of text chunks: `push(chunk)` returns the text that is safe to release now, `end()` the
 * rest. After each chunk it releases everything before the earliest point where a value could still be
 * growing or be judged differently by what follows (stream-hold.ts), and never cuts through a value found, so
 * the released text is always a prefix of what the whole-text filter returns. Findings carry code-point
 * offsets into the whole input stream.
 */
export class StreamFilter {
  private buffer = '';
  /** Original text already released (the tail of it, for cues), starting at a word boundary. */
  private context = '';
  /** Code points of input released so far (offset of `buffer` in the stream). */
  private released = 0;
  /** Buffer offset of a BEGIN line whose END line has not arrived, or -1: while set, only new text is searched. */
  private pemOpenAt = -1;
  /** Words of the names released so far: the detectors treat them as names anywhere later in the text. */
  private readonly nameWords = new Set<string>();
  /** `nameWords` by their first run of letters, for a scan that costs the same for 1 word or 256. */
  private readonly nameWordsByHead = new Map<string, string[]>();
  private readonly maxHold: number;
  private readonly contextChars: number;
  readonly findings: EntityFinding[] = [];
  readonly pending: PendingPseudonym[] = [];
  blocked = false;

  constructor(
    private readonly policy: OutputPolicy,
    private readonly ctx: OutputFilterContext = {},
    opts: StreamFilterOptions = {},
  ) {
    this.maxHold = Math.max(opts.maxHold ?? 16_384, FORCED_TAIL * 2);
    this.contextChars = opts.context ?? 64;
  }

  push(chunk: string): string {
    if (this.blocked) return '';
    this.buffer += chunk;
    if (!this.policy.enabled) return this.take(this.buffer.length, []);
    // Nothing becomes final until a token ends: without whitespace the hold point cannot move (bounded by maxHold).
    if (!/\s/.test(chunk) && this.buffer.length <= this.maxHold) return '';
    // An open private key holds everything after it: look for its END line in the new text only (linear, not quadratic).
    if (this.pemOpenAt >= 0) {
      const from = Math.max(this.pemOpenAt, this.buffer.length - chunk.length - 64);
      if (!PEM_END.test(this.buffer.slice(from))) return '';
      this.pemOpenAt = -1;
    }
    return this.release(false);
  }

  end(): string {
    if (this.blocked) return '';
    const out = this.policy.enabled ? this.release(true) : this.take(this.buffer.length, []);
    this.buffer = '';
    return out;
  }

  private release(final: boolean): string {
    const text = this.context + this.buffer;
    const offset = this.context.length;
    let cut = final ? text.length : this.holdPoint(text, offset);
    if (cut <= offset && !final && text.length - offset > this.maxHold) cut = text.length - FORCED_TAIL;
    if (cut <= offset && !final) return '';
    const types = wantedTypes(this.policy);
    const spans = detectSpans(text, { types }).filter((s) => s.end > offset);
    if (!types || types.has('PERSON')) this.addKnownNames(text, offset, spans);
    if (!final) {
      // An unterminated private key stays held, even past maxHold.
      const begin = this.openPem(text, offset);
      if (begin >= 0) cut = Math.min(cut, begin);
      // Never through a value found.
      for (const s of spans) if (s.start < cut && s.end > cut) cut = s.start;
      if (cut <= offset) return '';
    }
    const inside = spans.filter((s) => s.end <= cut).map((s): Span => ({ ...s, start: Math.max(s.start, offset) - offset, end: s.end - offset }));
    for (const s of inside) if (s.type === 'PERSON') this.rememberName(this.buffer.slice(s.start, s.end));
    return this.take(cut - offset, inside);
  }

  /**
   * detect.ts takes a word of a name it found ("Anna Berg") as the same person wherever else it stands in the
   * text ("... Berg said"). Past the context window the detectors cannot see the earlier name, so the words
   * are kept here and their later occurrences added as the whole-text filter would (not over another value).
   */
  private addKnownNames(text: string, offset: number, spans: Span[]): void {
    if (this.nameWords.size === 0) return;
    let added = false;
    // An occurrence starts a run of letters (nothing before it is a letter) and ends where no letter follows.
    for (const m of text.slice(offset).matchAll(LETTER_RUN)) {
      const start = offset + m.index;
      for (const w of this.nameWordsByHead.get(m[0]) ?? []) {
        const end = start + w.length;
        if (!text.startsWith(w, start) || LETTER.test(text[end] ?? '')) continue;
        if (spans.some((s) => s.start < end && s.end > start)) continue;
        spans.push({ type: 'PERSON', start, end });
        added = true;
        break;
      }
    }
    if (added) spans.sort((a, b) => a.start - b.start);
  }

  /** The words detect.ts would reuse: not initials, longer than two characters, without a possessive. */
  private rememberName(name: string): void {
    for (const w of name.replace(/[’']s$/, '').split(/\s+/)) {
      if (w.length <= 2 || /^\p{Lu}\.?$/u.test(w) || this.nameWords.has(w) || this.nameWords.size >= MAX_NAME_WORDS) continue;
      this.nameWords.add(w);
      const head = LETTER_RUN_AT_START.exec(w)?.[0];
      if (head) this.nameWordsByHead.set(head, [...(this.nameWordsByHead.get(head) ?? []), w].sort((a, b) => b.length - a.length));
    }
  }

  /** Where the held part starts: the earliest open value, an unterminated private key, a BEGIN line arriving. */
  private holdPoint(text: string, offset: number): number {
    let cut = Math.max(offset, finalUpTo(text));
    const begin = this.openPem(text, offset);
    if (begin >= 0) cut = Math.min(cut, begin);
    this.pemOpenAt = begin >= 0 ? begin - offset : -1;
    const partial = PEM_BEGIN_PREFIX.exec(text.slice(-40));
    if (partial && partial[0].length >= 2) cut = Math.min(cut, text.length - partial[0].length);
    return cut;
  }

  /** Offset of a BEGIN line in the held text that has no END line yet, or -1. */
  private openPem(text: string, offset: number): number {
    const at = text.indexOf('-----BEGIN', offset);
    if (at < 0) return -1;
    const begin = PEM_BEGIN.exec(text.slice(at));
    if (!begin) return -1;
    const start = at + begin.index;
    return PEM_END.test(text.slice(start)) ? -1 : start;
  }

  /** Releases `n` characters of the buffer, redacting `spans` (buffer offsets). */
  private take(n: number, spans: Span[]): string {
    const piece = this.buffer.slice(0, n);
    const result = applySpans(piece, spans, this.policy, this.ctx);
    for (const f of result.findings) this.findings.push({ ...f, start: f.start + this.released, end: f.end + this.released });
    this.pending.push(...result.pending);
    if (result.blocked) {
      this.blocked = true;
      this.buffer = '';
      return '';
    }
    this.released += codePointLength(piece);
    this.context = trimContext(this.context + piece, this.contextChars);
    this.buffer = this.buffer.slice(n);
    if (this.pemOpenAt >= 0) this.pemOpenAt -= n;
    return result.text;
  }
}

/** The last `chars` characters of released text, from a whitespace character on, behind a CUT_MARK when trimmed. */
function trimContext(released: string, chars: number): string {
  const body = released.startsWith(CUT_MARK) ? released.slice(1) : released;
  if (body.length <= chars) return released;
  const tail = body.slice(-chars);
  const space = tail.search(/\s/);
  return space < 0 ? CUT_MARK : CUT_MARK + tail.slice(space);
}
