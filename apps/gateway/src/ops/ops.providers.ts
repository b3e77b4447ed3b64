import { Inject, type OnApplicationBootstrap, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { AuditTypes } from '@keelson/contracts';
import { BudgetLedger } from '@keelson/cost';
import { NATS_CONNECTION, SERVICE_LOGGER } from '@keelson/nest-kit';
import type { MessagingLogger } from '@keelson/messaging';
import type { NatsConnection } from 'nats';
import { AuditRpcClient } from '../audit/audit-rpc-client';
import { ApiKeys } from '../auth/api-keys';
import type { GatewayConfig } from '../config';
import { DashboardController } from './dashboard.controller';
import { OpsController } from './ops.controller';
import { OpsOverviewBuilder } from './ops-overview';
import { SpendWindow } from './spend-window';
import { TrafficWindow } from './traffic-window';
import { UsageFeed } from './usage-feed';

/** Failed runs read per tenant and refresh; the audit query returns the oldest first, so this bounds a busy window. */
const FAILED_RUNS_PER_TENANT = 200;

export const opsControllers = [OpsController, DashboardController];

/** Starts the usage feed with the app and stops it on shutdown. */
class UsageFeedLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(@Inject(UsageFeed) private readonly feed: UsageFeed) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.feed.start();
  }

  onApplicationShutdown(): void {
    this.feed.stop();
  }
}

/** The dashboard's sources; `traffic` is the window the HTTP hook (bootstrap.ts) records into. */
export function opsProviders(config: GatewayConfig, traffic: TrafficWindow): Provider[] {
  return [
    { provide: TrafficWindow, useValue: traffic },
    { provide: SpendWindow, useValue: new SpendWindow() },
    {
      provide: UsageFeed,
      inject: [NATS_CONNECTION, SpendWindow, SERVICE_LOGGER],
      useFactory: (nats: NatsConnection, spend: SpendWindow, logger: MessagingLogger) => new UsageFeed(nats, spend, logger),
    },
    UsageFeedLifecycle,
    {
      provide: OpsOverviewBuilder,
      inject: [NATS_CONNECTION, SpendWindow, BudgetLedger, AuditRpcClient, ApiKeys],
      useFactory: (nats: NatsConnection, spend: SpendWindow, ledger: BudgetLedger, audit: AuditRpcClient, keys: ApiKeys) =>
        new OpsOverviewBuilder({
          nats,
          traffic,
          spend,
          budgets: (tenant) => ledger.status(tenant),
          failedRuns: async (tenant, from) =>
            (await audit.page(tenant, { type: AuditTypes.runFailed, from: from.toISOString(), limit: FAILED_RUNS_PER_TENANT })).events,
          knownTenants: () => keys.tenants(),
          operatorTenants: config.OPS_OPERATOR_TENANTS,
          traceUrlTemplate: config.TRACE_URL_TEMPLATE,
        }),
    },
  ];
}
