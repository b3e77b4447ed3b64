import type { GuardSource, InjectionFinding } from '@keelson/contracts';
import { foldText, normalizeForDetection, stripInvisible } from '../normalize';
import { INJECTION_RULES, UNTRUSTED_IMPERATIVE, type InjectionRule } from './rules';

export interface InjectionScore {
  /** 0..1: 1 - Π(1 - w) over the matched rules. */
  score: number;
  findings: InjectionFinding[];
}

export interface ScoreOptions {
  source?: GuardSource;
  /** Lower-case phrases removed from the folded text before the rules run. */
  allowPhrases?: readonly string[];
}

/** Longest text scored in full; beyond it the head and tail are scored (an override sits at either end). */
const MAX_SCORED = 64 * 1024;

function runRules(folded: string, raw: string, untrusted: boolean, encoded: boolean, into: Map<string, InjectionFinding>): void {
  for (const rule of INJECTION_RULES) {
    if (into.has(rule.id)) continue;
    if (!(rule.raw ? rule.re.test(raw) : rule.re.test(folded))) continue;
    into.set(rule.id, finding(rule, untrusted, encoded));
  }
}

function finding(rule: InjectionRule, untrusted: boolean, encoded: boolean): InjectionFinding {
  const weight = Math.min(0.97, rule.weight * (untrusted ? (rule.untrustedBoost ?? 1.15) : 1));
  return { type: rule.category, rule: rule.id, weight: round(weight), ...(encoded ? { encoded: true } : {}) };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * A question *about* an attack phrase, quoted ("what does 'ignore all previous instructions' mean?"): the
 * matched weights are damped, so it lands in the uncertain band (stage 2) rather than being blocked outright.
 */
const META_DISCUSSION =
  /^(?:what|why|how|explain|can you explain|is|are|define|was|warum|wie|erkläre?)\b[^"'“‘«]*["'“‘«][^"'”’»]{6,200}["'”’»][\s\S]*?\b(?:mean|means|meaning|used|work|works|attacks?|defend|called|example|bedeutet|bedeutung)\b/u;

/**
 * Stage 1: scores one text for prompt injection in well under a millisecond for a typical message. Content
 * from tools, memory and documents (`source` other than `user`) weighs instruction-like text more, and is
 * also checked for imperatives aimed at the assistant.
 */
export function scoreInjection(input: string, opts: ScoreOptions = {}): InjectionScore {
  const text = input.length > MAX_SCORED ? `${input.slice(0, MAX_SCORED / 2)}\n${input.slice(-MAX_SCORED / 2)}` : input;
  const untrusted = (opts.source ?? 'user') !== 'user';
  const norm = normalizeForDetection(text);
  let folded = norm.text;
  for (const phrase of opts.allowPhrases ?? []) {
    const p = foldText(phrase).text;
    if (p) folded = folded.split(p).join(' ');
  }
  const raw = stripInvisible(text).text.normalize('NFKC');
  const found = new Map<string, InjectionFinding>();
  runRules(folded, raw, untrusted, false, found);
  let encodedHit = false;
  for (const payload of norm.decoded.slice(0, 16)) {
    const before = found.size;
    runRules(foldText(payload).text, payload, untrusted, true, found);
    if (found.size > before) encodedHit = true;
  }
  if (encodedHit) found.set('obfuscation.encoded_payload', { type: 'obfuscation', rule: 'obfuscation.encoded_payload', weight: 0.3 });
  if (found.size > 0 && norm.invisibleCount >= 2) {
    found.set('obfuscation.invisible_characters', { type: 'obfuscation', rule: 'obfuscation.invisible_characters', weight: 0.2 });
  }
  if (found.size > 0 && norm.mixedScriptWords >= 1) {
    found.set('obfuscation.mixed_script', { type: 'obfuscation', rule: 'obfuscation.mixed_script', weight: 0.25 });
  }
  if (norm.spacedRuns > 0) {
    found.set('obfuscation.spaced_letters', { type: 'obfuscation', rule: 'obfuscation.spaced_letters', weight: 0.5 });
  }
  if (untrusted && UNTRUSTED_IMPERATIVE.test(folded)) {
    found.set('indirect.imperative_to_assistant', { type: 'indirect_injection', rule: 'indirect.imperative_to_assistant', weight: 0.6 });
  }
  const findings = [...found.values()].sort((a, b) => b.weight - a.weight);
  if (!untrusted && findings.length > 0 && META_DISCUSSION.test(folded)) {
    findings.push({ type: 'instruction_override', rule: 'damp.quoted_discussion', weight: 0 });
    return { score: round(combine(findings) * 0.45), findings };
  }
  return { score: round(combine(findings)), findings };
}

function combine(findings: readonly InjectionFinding[]): number {
  let clean = 1;
  for (const f of findings) clean *= 1 - f.weight;
  return 1 - clean;
}
