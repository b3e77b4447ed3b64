import { CanActivate, ExecutionContext, Inject, Injectable, Optional } from '@nestjs/common';
import { AuditTypes } from '@keelson/contracts';
import { GatewayAudit } from '../auditing/gateway-audit';
import { RateLimiter } from '@keelson/cost';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/api-keys';
import { rulesFor, type RateLimitSettings } from '@keelson/cost';
import { metricsRegistry } from '@keelson/observability';
import { RATE_LIMIT_SETTINGS } from './cost.tokens';
import { RateLimitedError, retryAfterSeconds } from './rate-limited-error';

/**
 * Requests per minute per tenant and per API key, and the tokens-per-minute allowance the agent runtime charges
 * after each model call: refuses with 429 `rate_limited` and `Retry-After` while any applicable limit is used
 * up. Runs after AuthGuard (`@UseGuards(AuthGuard, RateLimitGuard)`), since it limits the caller it names. A
 * tenant with no limit configured costs nothing: no Redis call is made.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    @Inject(RateLimiter) private readonly limiter: Pick<RateLimiter, 'check'>,
    @Inject(RATE_LIMIT_SETTINGS) private readonly settings: RateLimitSettings,
    // Optional: route tests mount the guard without the audit trail.
    @Optional() @Inject(GatewayAudit) private readonly audit?: GatewayAudit,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const principal = http.getRequest<FastifyRequest & { principal?: Principal }>().principal;
    if (!principal) throw new Error('RateLimitGuard used on a route without AuthGuard before it');
    const rules = rulesFor(this.settings, principal.tenant);
    if (rules.length === 0) return true;
    const decision = await this.limiter.check({ tenant: principal.tenant, apiKeyId: principal.keyId, rules });
    if (decision.allowed) return true;
    const seconds = retryAfterSeconds(decision.retryAfterMs);
    const limit = decision.limit ?? rules[0]!;
    metricsRegistry().counter('rateLimitRefusals').inc({ tenant: principal.tenant, scope: limit.scope, kind: limit.kind });
    // Not awaited: a refusal under a flood must stay cheap; noted() logs what it cannot record.
    void this.audit?.noted({
      tenant: principal.tenant,
      type: AuditTypes.policyRateLimit,
      apiKeyId: principal.keyId,
      data: { decision: 'refused', limit: decision.limit ?? rules[0], retryAfterSeconds: seconds },
    });
    void http.getResponse<FastifyReply>().header('retry-after', String(seconds));
    // The script always names the binding limit when it refuses; the first rule is a safe fallback.
    throw new RateLimitedError(decision.limit ?? rules[0]!, seconds);
  }
}
