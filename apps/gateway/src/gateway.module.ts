import { DynamicModule, Inject, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Consumers } from '@keelson/contracts';
import { HttpAdapterHost } from '@nestjs/core';
import { allStreams, type JetStreamPublisher, type MessagingLogger, natsCredentialsFrom } from '@keelson/messaging';
import { HealthModule, InfraModule, JETSTREAM_PUBLISHER, NATS_CONNECTION, REDIS_CLIENT, SERVICE_LOGGER, type RedisClient } from '@keelson/nest-kit';
import { agentRegistryFor, builtinAgents } from '@keelson/runtime';
import { ApprovalStore, SessionStore, TaskStore } from '@keelson/state';
import { AdmissionHook } from './admission/admission-hook';
import { ApprovalsController } from './approvals/approvals.controller';
import { auditControllers, auditProviders } from './audit/audit.providers';
import type { NatsConnection } from 'nats';
import { AgentCatalog } from './agents/agent-catalog';
import { InvokeController } from './agents/invoke.controller';
import { Authenticator, StaticKeys } from '@keelson/identity';
import { authProviders } from './auth/auth.providers';
import { DenialLog } from './auth/denial-log';
import { KeysController } from './auth/keys.controller';
import { AccessLog } from './auth/access-log';
import { accessLogProviders } from './auth/access-log.providers';
import { AccessReviewController } from './auth/access-review.controller';
import type { GatewayConfig } from './config';
import { GATEWAY_CONFIG } from './gateway.tokens';
import { OpenAIController } from './openai/openai.controller';
import { OpenAIErrorHook } from './openai/openai-errors';
import { RetentionPolicy } from './run-log/retention';
import { SessionSocketServer } from './sessions/session-socket';
import { SessionsController } from './sessions/sessions.controller';
import { TurnRelay } from './sessions/turn-relay';
import { BudgetGate } from './cost/budget-gate';
import { costControllers, costProviders } from './cost/cost.providers';
import { GuardClient } from './guard/guard-client';
import { GuardController } from './guard/guard.controller';
import { MemoriesController } from './memories/memories.controller';
import { MemoryRpcClient } from './memories/memory-rpc-client';
import { TaskIntake } from './tasks/task-intake';
import { TasksController } from './tasks/tasks.controller';
import { GatewayAudit } from './auditing/gateway-audit';
import { opsControllers, opsProviders } from './ops/ops.providers';
import { TrafficWindow } from './ops/traffic-window';
import { rolloutControllers, rolloutProviders } from './rollouts/rollouts.providers';

/** Attaches the session WebSocket to the HTTP server once it exists; on shutdown closes it and stops watching agent files. */
class SocketLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(SessionSocketServer) private readonly sockets: SessionSocketServer,
    @Inject(HttpAdapterHost) private readonly http: HttpAdapterHost,
    @Inject(AgentCatalog) private readonly agents: AgentCatalog,
  ) {}

  onApplicationBootstrap(): void {
    this.sockets.attach(this.http.httpAdapter.getHttpServer());
  }

  onApplicationShutdown(): void {
    this.sockets.close();
    this.agents.close();
  }
}

@Module({})
export class GatewayModule {
  /** `traffic` and `access` are what the HTTP hook records into (bootstrap.ts); tests may leave them out. */
  static forRoot(config: GatewayConfig, logger: MessagingLogger, recorders: { traffic?: TrafficWindow; access?: AccessLog } = {}): DynamicModule {
    const traffic = recorders.traffic ?? new TrafficWindow();
    const keys = StaticKeys.fromFile(config.KEELSON_API_KEYS_FILE, (warning) => logger.warn(warning));
    return {
      module: GatewayModule,
      imports: [
        InfraModule.forRoot({ serviceName: 'gateway', natsUrl: config.NATS_URL, natsCredentials: natsCredentialsFrom(config), redisUrl: config.REDIS_URL, streams: allStreams(), logger, objectStore: config }),
        HealthModule,
      ],
      controllers: [InvokeController, OpenAIController, SessionsController, TasksController, ApprovalsController, MemoriesController, GuardController, KeysController, AccessReviewController, ...costControllers, ...auditControllers, ...opsControllers, ...rolloutControllers],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        ...authProviders(config, keys),
        {
          provide: AgentCatalog,
          inject: [SERVICE_LOGGER],
          useFactory: (serviceLogger: MessagingLogger) =>
            new AgentCatalog(agentRegistryFor(config.AGENTS_DIR, builtinAgents, { logger: serviceLogger })),
        },
        GatewayAudit,
        ...rolloutProviders(config),
        ...costProviders(config),
        MemoryRpcClient,
        GuardClient,
        ...auditProviders,
        ...opsProviders(config, traffic),
        ...accessLogProviders(recorders.access ?? new AccessLog()),
        { provide: RetentionPolicy, useValue: new RetentionPolicy(config.RUN_LOG_RETENTION, config.RUN_LOG_RETENTION_BY_TENANT) },
        {
          provide: SessionStore,
          inject: [REDIS_CLIENT],
          useFactory: (redis: RedisClient) =>
            new SessionStore(redis, { ttlSeconds: config.SESSION_TTL_SECONDS, maxMessages: config.SESSION_MAX_MESSAGES }),
        },
        {
          provide: TaskStore,
          inject: [REDIS_CLIENT],
          useFactory: (redis: RedisClient) => new TaskStore(redis, { ttlSeconds: config.TASK_TTL_SECONDS }),
        },
        {
          provide: ApprovalStore,
          inject: [REDIS_CLIENT],
          useFactory: (redis: RedisClient) => new ApprovalStore(redis, { retentionSeconds: config.TASK_TTL_SECONDS }),
        },
        {
          provide: TurnRelay,
          inject: [NATS_CONNECTION, JETSTREAM_PUBLISHER, SessionStore, AgentCatalog, BudgetGate],
          useFactory: (nats: NatsConnection, publisher: JetStreamPublisher, sessions: SessionStore, agents: AgentCatalog, budgets: BudgetGate) =>
            new TurnRelay(nats, publisher, sessions, {
              turnTimeoutMs: config.TURN_TIMEOUT_MS,
              publishTimeoutMs: config.PUBLISH_TIMEOUT_MS,
              claimLeaseMs: Consumers.sessionAgent.ackWaitMs,
              agents,
              // A session message is refused by a kill switch where its agent is known: with the budget pre-check.
              budgets: {
                check: async (tenant: string, agentId: string, apiKeyId?: string) => {
                  agents.requireEnabled(tenant, agentId);
                  return budgets.check(tenant, agentId, apiKeyId);
                },
              },
              logger,
            }),
        },
        {
          provide: TaskIntake,
          inject: [NATS_CONNECTION, JETSTREAM_PUBLISHER, TaskStore],
          useFactory: (nats: NatsConnection, publisher: JetStreamPublisher, tasks: TaskStore) =>
            new TaskIntake(nats, publisher, tasks, { publishTimeoutMs: config.PUBLISH_TIMEOUT_MS }),
        },
        {
          provide: SessionSocketServer,
          inject: [Authenticator, DenialLog, SessionStore, TurnRelay, NATS_CONNECTION, RetentionPolicy],
          useFactory: (authenticator: Authenticator, denials: DenialLog, sessions: SessionStore, relay: TurnRelay, nats: NatsConnection, retention: RetentionPolicy) =>
            new SessionSocketServer({ authenticator, denials, sessions, relay, nats, retention, logger, maxPayload: config.BODY_LIMIT_BYTES }),
        },
        SocketLifecycle,
        OpenAIErrorHook,
        AdmissionHook,
      ],
    };
  }
}
