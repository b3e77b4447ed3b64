import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { QueueGroups, Subjects } from '@keelson/contracts';
import { serveRequests, type JetStreamPublisher, type MessagingLogger, type ServeRequestsMetrics } from '@keelson/messaging';
import { metricsRegistry, type MetricsRegistry } from '@keelson/observability';
import type { AuditSink } from '@keelson/audit';
import { InlineGuard } from '@keelson/guard';
import { AgentMemory } from '@keelson/memory';
import { AUDIT_TRAIL, JETSTREAM_PUBLISHER, NATS_RESPONDER_CONNECTION, SERVICE_LOGGER } from '@keelson/nest-kit';
import { AgentRegistry, ProviderRegistry, RoutingService, UsageMeter } from '@keelson/runtime';
import type { NatsConnection } from 'nats';
import { RolloutControl } from '@keelson/state';
import { answerInvokeVersioned } from './versioned-invoke';
import { InvokeCancellations } from './invoke-cancellations';

/** The invoke responder's bounds (session-agent's INVOKE_* settings). */
export interface InvokeServing {
  concurrency: number;
  maxQueue: number;
  maxQueueWaitMs: number;
}
export const INVOKE_SERVING = Symbol('INVOKE_SERVING');

/** A responder's refusals and queue waits as keelson_rpc_shed_total and keelson_rpc_queue_wait_seconds. */
export function rpcQueueMetrics(subject: string, registry: MetricsRegistry = metricsRegistry()): ServeRequestsMetrics {
  const shed = registry.counter('rpcShed');
  const wait = registry.histogram('rpcQueueWait');
  // Series that start at 0, so the first refusal shows as an increase() in Prometheus.
  for (const reason of ['queue_full', 'standing_queue', 'queue_timeout'] as const) shed.inc({ subject, reason }, 0);
  return {
    shed: (reason) => shed.inc({ subject, reason }),
    started: (seconds) => wait.observe({ subject }, seconds),
  };
}

/**
 * Answers stateless invocations over core NATS request-reply, as one member of the agents queue group;
 * a request with a `runId` also gets its run's events published (the gateway's streamed invocations).
 * At most `concurrency` run at once; the rest wait in a bounded queue, and what would wait past its bound is
 * answered 503 overloaded with Retry-After at once (serveRequests). Starts once the application has initialised; stops (answering what it already received) before the
 * NATS connection drains on shutdown.
 */
@Injectable()
export class InvokeResponder implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private server?: { stop(): Promise<void> };

  constructor(
    @Inject(NATS_RESPONDER_CONNECTION) private readonly nats: NatsConnection,
    @Inject(SERVICE_LOGGER) private readonly logger: MessagingLogger,
    @Inject(JETSTREAM_PUBLISHER) private readonly publisher: JetStreamPublisher,
    private readonly agents: AgentRegistry,
    private readonly providers: ProviderRegistry,
    private readonly cancellations: InvokeCancellations,
    private readonly metering: UsageMeter,
    private readonly routing: RoutingService,
    @Inject(AUDIT_TRAIL) private readonly audit: AuditSink,
    private readonly guard: InlineGuard,
    private readonly memory: AgentMemory,
    @Inject(RolloutControl) private readonly rollouts: RolloutControl,
    @Inject(INVOKE_SERVING) private readonly serving: InvokeServing,
  ) {}

  onApplicationBootstrap(): void {
    this.server = serveRequests(
      this.nats,
      Subjects.invokeRpc,
      QueueGroups.agents,
      (request: unknown) =>
        answerInvokeVersioned(request, {
          agents: this.agents,
          providers: this.providers,
          publisher: this.publisher,
          cancellations: this.cancellations,
          metering: this.metering,
          routing: this.routing,
          audit: this.audit,
          guard: this.guard,
          memory: this.memory,
        }, this.rollouts),
      { logger: this.logger, ...this.serving, metrics: rpcQueueMetrics(Subjects.invokeRpc) },
    );
    this.logger.info('answering invoke requests', { subject: Subjects.invokeRpc, queue: QueueGroups.agents, ...this.serving });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.server?.stop();
  }
}
