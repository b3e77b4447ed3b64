import type { EntityFinding, OutputPolicy } from '@keelson/contracts';
import { applySpans, wantedTypes, type OutputFilterContext } from './output-filter';
import { detectSpans, type Span } from './pii/detect';
import type { PendingPseudonym } from './pseudonyms';
import { codePointLength } from './text';

export interface StreamFilterOptions {
  /** Characters held back at the end of the buffer: longer than any value with spaces in it. Default 256. */
  holdBack?: number;
  /**
   * Most characters held in total: an unbroken token (a JWT, a base64 blob) or an unterminated PEM block is
   * held until it ends or grows past this; then it is released redacted as far as it can be judged (a PEM
   * block is redacted from its BEGIN line on). Default 16 384.
   */
  maxHold?: number;
  /** Characters of already-released text kept as context for the detectors' cues ("Phone:"). Default 64. */
  context?: number;
  /** New characters collected past the hold-back before the buffer is scanned again. Default 128; 0 scans on every chunk. */
  minRelease?: number;
}

const PEM_BEGIN = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/;
const PEM_BEGIN_PREFIX = /-(?:-(?:-(?:-(?:-(?:B(?:E(?:G(?:I(?:N(?: [A-Z0-9 ]*)?)?)?)?)?)?)?)?)?)?$/;

/**
 * Filters a stream of text chunks: `push(chunk)` returns the text that is safe to release now, `end()` the
 * rest. A value is never released in part: the last `holdBack` characters wait for the next chunk, and the
 * cut is moved back to whitespace before any value that might still grow (so `4111 1111 1111 1111` split
 * across chunks is held until it is whole). Findings carry code-point offsets into the whole input stream.
 */
export class StreamFilter {
  private buffer = '';
  /** Original text already released (the tail of it, for cues). */
  private context = '';
  /** Code points of input released so far (offset of `buffer` in the stream). */
  private released = 0;
  private readonly holdBack: number;
  private readonly maxHold: number;
  private readonly contextChars: number;
  private readonly minRelease: number;
  readonly findings: EntityFinding[] = [];
  readonly pending: PendingPseudonym[] = [];
  blocked = false;

  constructor(
    private readonly policy: OutputPolicy,
    private readonly ctx: OutputFilterContext = {},
    opts: StreamFilterOptions = {},
  ) {
    this.holdBack = opts.holdBack ?? 256;
    this.maxHold = Math.max(opts.maxHold ?? 16_384, this.holdBack * 2);
    this.contextChars = opts.context ?? 64;
    this.minRelease = opts.minRelease ?? 128;
  }

  push(chunk: string): string {
    if (this.blocked) return '';
    this.buffer += chunk;
    if (!this.policy.enabled) return this.take(this.buffer.length, []);
    return this.release(false);
  }

  end(): string {
    if (this.blocked) return '';
    const out = this.policy.enabled ? this.release(true) : this.take(this.buffer.length, []);
    this.buffer = '';
    return out;
  }

  private release(final: boolean): string {
    // Scan once per `minRelease` new characters, not on every chunk: each character is scanned a few times, not dozens.
    if (!final && this.buffer.length < this.holdBack + this.minRelease) return '';
    const text = this.context + this.buffer;
    const offset = this.context.length;
    const spans = detectSpans(text, { types: wantedTypes(this.policy) }).filter((s) => s.end > offset);
    let cut = final ? text.length : text.length - this.holdBack;
    if (!final) {
      // An unterminated private key: hold from its BEGIN line (or release it redacted past maxHold).
      const begin = PEM_BEGIN.exec(text.slice(offset));
      const pemOpen = begin && !spans.some((s) => s.type === 'PRIVATE_KEY' && s.start <= offset + begin.index && s.end > offset + begin.index);
      if (pemOpen) {
        const at = offset + begin.index;
        if (text.length - at <= this.maxHold) cut = Math.min(cut, at);
        else spans.push({ type: 'PRIVATE_KEY', start: at, end: text.length });
      } else {
        // A possible BEGIN line still arriving ("-----BEG").
        const partial = PEM_BEGIN_PREFIX.exec(text);
        if (partial && partial[0].length >= 2) cut = Math.min(cut, partial.index);
      }
      // Back to whitespace, so no token is cut in two.
      while (cut > offset && !/\s/.test(text[cut - 1]!)) cut--;
      if (cut <= offset && text.length - offset > this.maxHold) cut = text.length - this.holdBack;
      // Never through a value found.
      for (const s of spans) if (s.start < cut && s.end > cut) cut = s.start;
      if (cut <= offset) return '';
    }
    const inside = spans.filter((s) => s.end <= cut).map((s): Span => ({ ...s, start: Math.max(s.start, offset) - offset, end: s.end - offset }));
    return this.take(cut - offset, inside);
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
    this.context = (this.context + piece).slice(-this.contextChars);
    this.buffer = this.buffer.slice(n);
    return result.text;
  }
}
