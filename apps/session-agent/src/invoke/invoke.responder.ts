import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { QueueGroups, Subjects } from '@keelson/contracts';
import { serveRequests, type JetStreamPublisher, type MessagingLogger } from '@keelson/messaging';
import type { AuditSink } from '@keelson/audit';
import { InlineGuard } from '@keelson/guard';
import { AgentMemory } from '@keelson/memory';
import { AUDIT_TRAIL, JETSTREAM_PUBLISHER, NATS_CONNECTION, SERVICE_LOGGER } from '@keelson/nest-kit';
import { AgentRegistry, ProviderRegistry, RoutingService, UsageMeter } from '@keelson/runtime';
import type { NatsConnection } from 'nats';
import { RolloutControl } from '@keelson/state';
import { answerInvokeVersioned } from './versioned-invoke';
import { InvokeCancellations } from './invoke-cancellations';

/**
 * Answers stateless invocations over core NATS request-reply, as one member of the agents queue group;
 * a request with a `runId` also gets its run's events published (the gateway's streamed invocations).
 * Starts once the application has initialised; stops (answering what it already received) before the
 * NATS connection drains on shutdown.
 */
@Injectable()
export class InvokeResponder implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private server?: { stop(): Promise<void> };

  constructor(
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
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
      { logger: this.logger },
    );
    this.logger.info('answering invoke requests', { subject: Subjects.invokeRpc, queue: QueueGroups.agents });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.server?.stop();
  }
}
