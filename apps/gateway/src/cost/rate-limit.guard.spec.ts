import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { ExecutionContext } from '@nestjs/common';
import type { RateLimitDecision, RateLimitSubject } from '@keelson/cost';
import { toErrorResponse } from '@keelson/nest-kit';
import { parseRateLimitSettings } from '@keelson/cost';
import { RateLimitGuard } from './rate-limit.guard';
import { RateLimitedError, retryAfterSeconds } from './rate-limited-error';

function context(principal: { keyId: string; tenant: string; scopes: string[] } | undefined) {
  const headers: Record<string, string> = {};
  const reply = { header: (name: string, value: string) => ((headers[name] = value), reply) };
  const ctx = { switchToHttp: () => ({ getRequest: () => ({ principal }), getResponse: () => reply }) } as unknown as ExecutionContext;
  return { ctx, headers };
}

function limiter(decision: RateLimitDecision) {
  const subjects: RateLimitSubject[] = [];
  return { subjects, check: async (subject: RateLimitSubject) => (subjects.push(subject), decision) };
}

const dev = { keyId: 'k1', tenant: 'dev', scopes: ['*'] };

describe('RateLimitGuard', () => {
  it('makes no Redis call for a tenant without limits', async () => {
    const fake = limiter({ allowed: false, retryAfterMs: 1, remaining: 0 });
    const guard = new RateLimitGuard(fake, parseRateLimitSettings({ RATE_LIMITS_BY_TENANT: '{"other":{"tenantRpm":5}}' }));
    assert.equal(await guard.canActivate(context(dev).ctx), true);
    assert.equal(fake.subjects.length, 0);
  });

  it('checks the tenant\'s and the key\'s rules and lets an allowed call through', async () => {
    const fake = limiter({ allowed: true, retryAfterMs: 0, remaining: 3 });
    const guard = new RateLimitGuard(fake, parseRateLimitSettings({ RATE_LIMIT_TENANT_RPM: '10', RATE_LIMIT_KEY_TPM: '1000' }));
    assert.equal(await guard.canActivate(context(dev).ctx), true);
    assert.deepEqual(fake.subjects, [
      {
        tenant: 'dev',
        apiKeyId: 'k1',
        rules: [
          { scope: 'tenant', kind: 'requests', perMinute: 10 },
          { scope: 'key', kind: 'tokens', perMinute: 1000 },
        ],
      },
    ]);
  });

  it('refuses with 429 rate_limited, Retry-After in whole seconds rounded up, and the limit in the body', async () => {
    const limit = { scope: 'key', kind: 'tokens', perMinute: 1000 } as const;
    const guard = new RateLimitGuard(limiter({ allowed: false, retryAfterMs: 2_001, limit, remaining: 0 }), parseRateLimitSettings({ RATE_LIMIT_KEY_TPM: '1000' }));
    const { ctx, headers } = context(dev);
    await assert.rejects(guard.canActivate(ctx), (err: unknown) => {
      assert.ok(err instanceof RateLimitedError);
      assert.deepEqual(toErrorResponse(err), {
        status: 429,
        body: {
          error: {
            code: 'rate_limited',
            message: "the API key's limit of 1000 tokens per minute is used up; retry after 3 s",
            limit: { scope: 'key', kind: 'tokens', perMinute: 1000 },
          },
        },
      });
      return true;
    });
    assert.deepEqual(headers, { 'retry-after': '3' });
  });

  it('fails loudly on a route without AuthGuard', async () => {
    const guard = new RateLimitGuard(limiter({ allowed: true, retryAfterMs: 0, remaining: 1 }), parseRateLimitSettings({}));
    await assert.rejects(guard.canActivate(context(undefined).ctx), /without AuthGuard/);
  });

  it('rounds Retry-After up to whole seconds, never below 1', () => {
    assert.deepEqual([0, 1, 999, 1_000, 1_001, 59_999].map(retryAfterSeconds), [1, 1, 1, 1, 2, 60]);
  });
});
