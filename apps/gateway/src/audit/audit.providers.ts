import type { Provider } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { AuditRpcClient } from './audit-rpc-client';

/**
 * The audit routes, `/v1/audit/{events,verify,export}`. Like the cost routes they use AuthGuard and
 * RateLimitGuard, whose dependencies (ApiKeys, the rate limiter) live in GatewayModule, so they are mounted in
 * that module rather than in a module of their own.
 */
export const auditControllers = [AuditController];

/** What the audit routes need besides the guards: the RPC client (NATS_CONNECTION from InfraModule). */
export const auditProviders: Provider[] = [AuditRpcClient];
