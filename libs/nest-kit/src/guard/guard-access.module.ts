import { Global, Module, type DynamicModule } from '@nestjs/common';
import { GuardSubjects, type GuardPolicy, type GuardPolicyRpcReply } from '@keelson/contracts';
import { guardDecisionDraft, type AuditSink } from '@keelson/audit';
import { GuardPolicyCache, InlineGuard } from '@keelson/guard';
import { request, type MessagingLogger } from '@keelson/messaging';
import type { NatsConnection } from 'nats';
import { AUDIT_TRAIL, NATS_CONNECTION, SERVICE_LOGGER } from '../infra/tokens';
import { countGuardDecision } from './guard-metrics';

/**
 * Tenants' guard policies from guard-service (`keelson.rpc.guard.policy`), cached for `ttlMs` (see
 * GuardPolicyCache: when guard-service does not answer, the last known policy, else the strict default).
 */
export function guardPolicyCache(nats: NatsConnection, logger: MessagingLogger, ttlMs: number): GuardPolicyCache {
  const fetch = async (tenant: string): Promise<GuardPolicy | undefined> => {
    const reply = await request<GuardPolicyRpcReply>(nats, GuardSubjects.policyRpc, { tenant }, { timeoutMs: 2_000 });
    if (!reply.ok) throw new Error(`${reply.code}: ${reply.message}`);
    return reply.policy;
  };
  const onError = (tenant: string, err: unknown) =>
    logger.warn('guard policy unavailable; using the last known or the default policy', { tenant, error: (err as Error).message });
  return new GuardPolicyCache(fetch, { ttlMs, onError });
}

/**
 * The guard in process for the agent runtimes (InlineGuard): each run's input checks and output filter
 * under its tenant's policy, no hop on the hot path. Decisions that found something become `guard.decision`
 * audit events, not awaited (a lost one is logged).
 */
@Global()
@Module({})
export class GuardAccessModule {
  static forRoot(options: { policyTtlMs: number }): DynamicModule {
    return {
      module: GuardAccessModule,
      global: true,
      providers: [
        {
          provide: InlineGuard,
          inject: [NATS_CONNECTION, SERVICE_LOGGER, AUDIT_TRAIL],
          useFactory: (nats: NatsConnection, logger: MessagingLogger, audit: AuditSink) =>
            new InlineGuard({
              policies: guardPolicyCache(nats, logger, options.policyTtlMs),
              onDecision: (decision, context) => {
                countGuardDecision(decision);
                audit.record(guardDecisionDraft(decision, context)).catch((err: unknown) =>
                  logger.error('guard decision not recorded in the audit trail', { tenant: decision.tenant, action: decision.action, error: (err as Error).message }),
                );
              },
            }),
        },
      ],
      exports: [InlineGuard],
    };
  }
}
