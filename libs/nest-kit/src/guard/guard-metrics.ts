import type { GuardDecision } from '@keelson/contracts';
import { metricsRegistry, type MetricsRegistry } from '@keelson/observability';

/** A guard decision as keelson_guard_decisions_total, and its finding counts as keelson_guard_findings_total. */
export function countGuardDecision(d: GuardDecision, registry: MetricsRegistry = metricsRegistry()): void {
  registry.counter('guardDecisions').inc({ type: d.type, action: d.action, source: d.source });
  const findings = registry.counter('guardFindings');
  for (const [finding, count] of Object.entries(d.counts)) if (count > 0) findings.inc({ type: d.type, finding }, count);
}
