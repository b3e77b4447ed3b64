import type { EntityFinding, EntityType, GuardAction, OutputPolicy, RedactionMode } from '@keelson/contracts';
import { detectSpans, type Span } from './pii/detect';
import { outputAction } from './policy';
import type { PendingPseudonym, Pseudonymizer } from './pseudonyms';
import { codePointIndexer } from './text';

/** Placeholders of the `placeholder` mode. */
export const PLACEHOLDERS: Record<EntityType, string> = {
  EMAIL_ADDRESS: '[EMAIL]',
  PHONE_NUMBER: '[PHONE]',
  CREDIT_CARD: '[CARD]',
  IBAN_CODE: '[IBAN]',
  US_SSN: '[SSN]',
  UK_NINO: '[NINO]',
  ES_NIF: '[NIF]',
  IP_ADDRESS: '[IP]',
  DATE_OF_BIRTH: '[DOB]',
  STREET_ADDRESS: '[ADDRESS]',
  PERSON: '[PERSON]',
  URL_CREDENTIALS: '[CREDENTIALS]',
  PASSWORD: '[PASSWORD]',
  API_KEY: '[API_KEY]',
  PRIVATE_KEY: '[PRIVATE_KEY]',
  JWT: '[JWT]',
};

/** `mask`: every non-space character becomes `*`; a card keeps its last four digits (as on a receipt). */
export function maskValue(type: EntityType, value: string): string {
  if (type === 'CREDIT_CARD') {
    const total = value.replace(/\D/g, '').length;
    let seen = 0;
    return value.replace(/\d/g, (d) => (++seen > total - 4 ? d : '*'));
  }
  return value.replace(/\S/gu, '*');
}

export interface OutputFilterContext {
  tenant?: string;
  /** Required for `pseudonym` mode; without it pseudonym mode falls back to placeholders. */
  pseudonymizer?: Pseudonymizer;
}

export interface FilteredOutput {
  text: string;
  /** Code-point offsets into the input text. */
  findings: EntityFinding[];
  blocked: boolean;
  /** Pseudonyms to store (Pseudonymizer.store) before the text leaves; empty in other modes. */
  pending: PendingPseudonym[];
}

/** Which entity types the policy wants detected at all (`off` ones are skipped). */
export function wantedTypes(policy: OutputPolicy): Set<EntityType> | undefined {
  const off = Object.entries(policy.actions).filter(([, a]) => a === 'off');
  if (off.length === 0) return undefined;
  const all = Object.keys(PLACEHOLDERS) as EntityType[];
  return new Set(all.filter((t) => policy.actions[t] !== 'off'));
}

export function replacementFor(type: EntityType, value: string, mode: RedactionMode, ctx: OutputFilterContext, pending: PendingPseudonym[]): string {
  if (mode === 'mask') return maskValue(type, value);
  if (mode === 'pseudonym' && ctx.pseudonymizer && ctx.tenant) {
    const p = ctx.pseudonymizer.tokenize(ctx.tenant, type, value);
    pending.push(p);
    return p.token;
  }
  return PLACEHOLDERS[type];
}

/** Applies the policy to spans already found (UTF-16 offsets) in `text`. */
export function applySpans(text: string, spans: readonly Span[], policy: OutputPolicy, ctx: OutputFilterContext = {}): FilteredOutput {
  const cp = codePointIndexer(text);
  const allow = policy.allowValues.length ? new Set(policy.allowValues.map((v) => v.toLowerCase())) : undefined;
  const findings: EntityFinding[] = [];
  const pending: PendingPseudonym[] = [];
  let out = '';
  let last = 0;
  let blocked = false;
  for (const s of spans) {
    const value = text.slice(s.start, s.end);
    if (allow?.has(value.toLowerCase())) continue;
    const action: GuardAction = outputAction(policy, s.type);
    if (action === 'off') continue;
    findings.push({ type: s.type, start: cp(s.start), end: cp(s.end), action });
    if (action === 'block') blocked = true;
    if (action !== 'redact') continue;
    out += text.slice(last, s.start) + replacementFor(s.type, value, policy.mode, ctx, pending);
    last = s.end;
  }
  out += text.slice(last);
  return { text: blocked ? '' : out, findings, blocked, pending: blocked ? [] : pending };
}

/**
 * The output filter: finds PII and secrets in `text` and redacts them as the policy says. Synchronous and
 * in-process; with pseudonyms, store `pending` (Pseudonymizer.store) before the text is released.
 */
export function filterOutput(text: string, policy: OutputPolicy, ctx: OutputFilterContext = {}): FilteredOutput {
  if (!policy.enabled) return { text, findings: [], blocked: false, pending: [] };
  return applySpans(text, detectSpans(text, { types: wantedTypes(policy) }), policy, ctx);
}
