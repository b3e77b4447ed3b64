import { Module, type DynamicModule } from '@nestjs/common';
import { Consumers } from '@keelson/contracts';
import type { JetStreamPublisher, MessagingLogger } from '@keelson/messaging';
import type { AuditSink } from '@keelson/audit';
import { InlineGuard } from '@keelson/guard';
import { AUDIT_TRAIL, JETSTREAM_PUBLISHER, REDIS_CLIENT, SERVICE_LOGGER, type RedisClient, rolloutControlProviders } from '@keelson/nest-kit';
import { AgentRegistry, ProviderRegistry, RoutingService, UsageMeter, builtinTools } from '@keelson/runtime';
import { AgentMemory } from '@keelson/memory';
import { RolloutControl, SessionStore } from '@keelson/state';
import { SessionSignals } from './session-signals';
import { processOwnerId } from './owner';
import { TurnHandler } from './turn-handler';
import { TurnsController } from './turns.controller';

export interface SessionsOptions {
  ttlSeconds: number;
  maxMessages: number;
  /** Addresses http_fetch may reach although their range is refused (EGRESS_ALLOW_ADDRESSES). */
  egressAllowAddresses: readonly string[];
}

/** Stateful sessions: their turns arrive on the session-agent consumer and their state lives in Redis. */
@Module({})
export class SessionsModule {
  static forRoot(options: SessionsOptions): DynamicModule {
    return {
      module: SessionsModule,
      controllers: [TurnsController],
      providers: [
        SessionSignals,
        ...rolloutControlProviders,
        {
          provide: SessionStore,
          inject: [REDIS_CLIENT],
          useFactory: (redis: RedisClient | null) => {
            if (!redis) throw new Error('the session-agent needs Redis: InfraModule was configured without REDIS_URL');
            return new SessionStore(redis, options);
          },
        },
        {
          provide: TurnHandler,
          inject: [SessionStore, JETSTREAM_PUBLISHER, AgentRegistry, ProviderRegistry, UsageMeter, SERVICE_LOGGER, RoutingService, AgentMemory, AUDIT_TRAIL, InlineGuard, RolloutControl],
          useFactory: (
            sessions: SessionStore,
            publisher: JetStreamPublisher,
            agents: AgentRegistry,
            providers: ProviderRegistry,
            metering: UsageMeter,
            logger: MessagingLogger,
            routing: RoutingService,
            memory: AgentMemory,
            audit: AuditSink,
            guard: InlineGuard,
            rollouts: RolloutControl,
          ) =>
            new TurnHandler({
              sessions,
              publisher,
              agents,
              rollouts,
              providers,
              metering,
              routing,
              memory,
              audit,
              guard,
              tools: builtinTools({ memory: memory.recallTool(), http: { allowAddresses: options.egressAllowAddresses } }),
              owner: processOwnerId(),
              // The lease lasts as long as JetStream waits for an ack: a replica that died mid-turn frees
              // the session about when its turn is redelivered elsewhere.
              leaseMs: Consumers.sessionAgent.ackWaitMs,
              logger,
            }),
        },
      ],
    };
  }
}
