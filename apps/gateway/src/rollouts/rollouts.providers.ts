import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import type { AuditSink } from '@keelson/audit';
import type { MessagingLogger } from '@keelson/messaging';
import { AUDIT_TRAIL, REDIS_CLIENT, SERVICE_LOGGER, type RedisClient } from '@keelson/nest-kit';
import { RolloutControl, RolloutStore, type RolloutRedis } from '@keelson/state';
import { AgentCatalog } from '../agents/agent-catalog';
import type { GatewayConfig } from '../config';
import { KillSwitchesController, RolloutsController } from './rollouts.controller';
import { RolloutEvaluator } from './rollout-evaluator';
import { PLATFORM_TENANT } from '../auth/denial-log';

/** Starts the evaluator once the app is up; stops it and the snapshot's timer on shutdown. */
@Injectable()
class RolloutLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(RolloutEvaluator) private readonly evaluator: RolloutEvaluator,
    @Inject(RolloutControl) private readonly control: RolloutControl,
  ) {}

  onApplicationBootstrap(): void {
    this.evaluator.start();
  }

  onApplicationShutdown(): void {
    this.evaluator.stop();
    this.control.stop();
  }
}

export const rolloutControllers = [RolloutsController, KillSwitchesController];

/** Rollouts and kill switches in the gateway (docs/rollouts.md); the catalog's checks read the same snapshot. */
export function rolloutProviders(config: GatewayConfig): Provider[] {
  return [
    {
      provide: RolloutStore,
      inject: [REDIS_CLIENT],
      useFactory: (redis: RedisClient) => new RolloutStore(redis as unknown as RolloutRedis),
    },
    {
      provide: RolloutControl,
      inject: [RolloutStore, AgentCatalog, SERVICE_LOGGER],
      useFactory: async (store: RolloutStore, agents: AgentCatalog, logger: MessagingLogger) => {
        const control = new RolloutControl(store, { refreshMs: config.ROLLOUT_REFRESH_MS, logger });
        await control.start();
        agents.useKillSwitches(control);
        return control;
      },
    },
    {
      provide: RolloutEvaluator,
      inject: [RolloutStore, RolloutControl, AUDIT_TRAIL, SERVICE_LOGGER],
      useFactory: (store: RolloutStore, control: RolloutControl, audit: AuditSink, logger: MessagingLogger) =>
        new RolloutEvaluator(store, control, audit, logger, {
          intervalMs: config.ROLLOUT_EVALUATE_INTERVAL_MS,
          auditTenant: config.OPS_OPERATOR_TENANTS[0] ?? PLATFORM_TENANT,
        }),
    },
    RolloutLifecycle,
  ];
}
