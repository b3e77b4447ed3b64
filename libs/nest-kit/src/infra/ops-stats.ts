import { hostname } from 'node:os';
import { OpsSubjects, type OpsReplicaStats } from '@keelson/contracts';
import { encodeJson, type MessagingLogger } from '@keelson/messaging';
import { metricsRegistry, type MetricsRegistry } from '@keelson/observability';
import type { NatsConnection } from 'nats';

/**
 * Answers OpsSubjects.stats (core NATS, no queue group: every replica of every service answers) with this
 * process's OpsReplicaStats, which the gateway's dashboard gathers. Gauges a service never set are left out.
 */
export function answerOpsStats(nats: NatsConnection, service: string, logger: MessagingLogger, registry: MetricsRegistry = metricsRegistry()): void {
  const base = { service, instance: `${hostname()}:${process.pid}`, startedAt: new Date(Date.now() - process.uptime() * 1000).toISOString() };
  const sub = nats.subscribe(OpsSubjects.stats);
  void (async () => {
    for await (const msg of sub) {
      try {
        const [sessionsActive, turnsRunning, taskRunsRunning] = await Promise.all(
          (['sessionsActive', 'turnsRunning', 'taskRunsRunning'] as const).map((key) => registry.gaugeValue(key)),
        );
        const stats: OpsReplicaStats = {
          ...base,
          rssBytes: process.memoryUsage.rss(),
          ...(sessionsActive !== undefined ? { sessionsActive } : {}),
          ...(turnsRunning !== undefined ? { turnsRunning } : {}),
          ...(taskRunsRunning !== undefined ? { taskRunsRunning } : {}),
        };
        msg.respond(encodeJson(stats));
      } catch (err) {
        logger.warn('could not answer an ops stats request', { error: err instanceof Error ? err.message : String(err) });
      }
    }
  })();
}
