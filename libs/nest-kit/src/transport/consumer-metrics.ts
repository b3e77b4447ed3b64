import type { ConsumerSpec } from '@keelson/contracts';
import type { ConsumerRunnerMetrics, MessagingLogger } from '@keelson/messaging';
import { metricsRegistry, type MetricsRegistry } from '@keelson/observability';
import type { NatsConnection } from 'nats';

/** How often the durable consumers' pending and ack-pending counts are read, besides on each scrape. */
export const CONSUMER_POLL_MS = 15_000;

/** A ConsumerRunner's counts as keelson_jetstream_* counters, labelled by stream and durable consumer. */
export function consumerRunnerMetrics(spec: ConsumerSpec, registry: MetricsRegistry = metricsRegistry()): ConsumerRunnerMetrics {
  const labels = { stream: spec.stream, consumer: spec.durable };
  const processed = registry.counter('messagesProcessed');
  const redeliveries = registry.counter('redeliveries');
  const deadLetters = registry.counter('deadLetters');
  // Series that start at 0 when the consumer does: a counter first seen at 1 has no increase() in
  // Prometheus, so a replica's first dead letter or redelivery would never alert.
  redeliveries.inc(labels, 0);
  deadLetters.inc(labels, 0);
  return {
    redelivered: () => redeliveries.inc(labels),
    settled: (outcome) => {
      processed.inc({ ...labels, outcome });
      if (outcome === 'dead-letter') deadLetters.inc(labels);
    },
  };
}

/**
 * Sets keelson_jetstream_consumer_pending_messages (lag) and ..._ack_pending_messages for each durable
 * consumer, every CONSUMER_POLL_MS and before each scrape. Returns the function that stops it.
 */
export function pollConsumerInfo(
  nc: NatsConnection,
  specs: readonly ConsumerSpec[],
  logger: MessagingLogger,
  registry: MetricsRegistry = metricsRegistry(),
): () => void {
  const pending = registry.gauge('consumerPending');
  const ackPending = registry.gauge('consumerAckPending');
  let failing = false;
  let running: Promise<void> | undefined;
  const poll = async () => {
    if (nc.isClosed()) return;
    const jsm = await nc.jetstreamManager();
    for (const spec of specs) {
      const info = await jsm.consumers.info(spec.stream, spec.durable);
      const labels = { stream: spec.stream, consumer: spec.durable };
      pending.set(labels, info.num_pending);
      ackPending.set(labels, info.num_ack_pending);
    }
  };
  // One poll at a time: a scrape during the timer's poll waits for that one instead of starting another.
  const once = (): Promise<void> => {
    running ??= poll()
      .then(() => {
        failing = false;
      })
      .catch((err: unknown) => {
        if (!failing) logger.warn('cannot read consumer info for metrics', { error: (err as Error).message });
        failing = true;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const timer = setInterval(() => void once(), CONSUMER_POLL_MS);
  timer.unref();
  const remove = registry.onCollect(once);
  void once();
  return () => {
    clearInterval(timer);
    remove();
  };
}
