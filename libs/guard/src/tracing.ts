import { trace, type Attributes } from '@opentelemetry/api';

/**
 * The guard's spans: `guard.input` per stage 1 check, `guard.output` per output filter (a streamed text,
 * from its first chunk to end(), or one whole text). Only the action, score and finding counts and types
 * are recorded, never the text. A span is made once the check is done, so nothing is kept per chunk; with
 * no SDK registered this is a cheap no-op.
 */
const tracer = trace.getTracer('@keelson/guard');

export const GuardAttributes = {
  action: 'keelson.guard.action',
  score: 'keelson.guard.score',
  source: 'keelson.guard.source',
  findings: 'keelson.guard.findings',
  findingTypes: 'keelson.guard.finding_types',
  policyVersion: 'keelson.guard.policy_version',
} as const;

/** Records a check that began at `startTime` (performance.now()) and has just ended. A block is not an error: the guard did its job. */
export function recordGuardCheck(name: 'guard.input' | 'guard.output', startTime: number, attributes: () => Attributes): void {
  const span = tracer.startSpan(name, { startTime });
  if (span.isRecording()) {
    span.setAttributes(attributes());
  }
  span.end();
}

/** The distinct finding types, sorted (bounded by the detectors, no values). */
export function findingTypes(findings: readonly { type: string }[]): string[] {
  return [...new Set(findings.map((f) => f.type))].sort();
}
