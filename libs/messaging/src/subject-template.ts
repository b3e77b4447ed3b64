import { Streams } from '@keelson/contracts';

/** NATS wildcard matching: `*` is one token, a trailing `>` is one or more. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return i === p.length - 1 && s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

const contractPatterns: readonly string[] = Object.values(Streams).flatMap((spec) => [...spec.subjects]);

/**
 * A low-cardinality name for a subject, for span names: the contract stream pattern that captures it
 * (`keelson.tasks.acme.summarise` -> `keelson.tasks.>`), else the subject itself.
 */
export function subjectTemplate(subject: string): string {
  return contractPatterns.find((pattern) => subjectMatches(pattern, subject)) ?? subject;
}
