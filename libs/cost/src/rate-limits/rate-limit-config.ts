import { integer } from '@keelson/config';
import { TENANT_ID_PATTERN } from '@keelson/contracts';
import type { RateLimitRule } from './rate-limiter';
import { z } from 'zod';

/** One tenant's overrides in RATE_LIMITS_BY_TENANT; a field left out keeps the global setting, 0 switches it off. */
export interface RateLimitOverride {
  tenantRpm?: number;
  tenantTpm?: number;
  keyRpm?: number;
  keyTpm?: number;
}

const OVERRIDE_FIELDS = ['tenantRpm', 'tenantTpm', 'keyRpm', 'keyTpm'] as const;
const EXAMPLE = '{"acme":{"tenantRpm":600,"keyTpm":0}}';

/**
 * RATE_LIMITS_BY_TENANT: a JSON object of tenant to partial overrides, e.g. `{"acme":{"tenantRpm":600}}`.
 * Every problem is reported with the tenant and field it is about.
 */
export const rateLimitsByTenant = z
  .string()
  .default('{}')
  .transform((value, ctx) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `expected a JSON object such as ${EXAMPLE}` });
      return {};
    }
    if (!isPlainObject(parsed)) {
      ctx.addIssue({ code: 'custom', message: `expected a JSON object such as ${EXAMPLE}` });
      return {};
    }
    const out: Record<string, RateLimitOverride> = {};
    for (const [tenant, raw] of Object.entries(parsed)) {
      if (!TENANT_ID_PATTERN.test(tenant)) {
        ctx.addIssue({ code: 'custom', message: `"${tenant}" is not a tenant id` });
        continue;
      }
      if (!isPlainObject(raw)) {
        ctx.addIssue({ code: 'custom', message: `${tenant}: expected an object with ${OVERRIDE_FIELDS.join(', ')}` });
        continue;
      }
      const override: RateLimitOverride = {};
      for (const [field, limit] of Object.entries(raw)) {
        if (!(OVERRIDE_FIELDS as readonly string[]).includes(field)) {
          ctx.addIssue({ code: 'custom', message: `${tenant}.${field}: unknown field, expected one of ${OVERRIDE_FIELDS.join(', ')}` });
        } else if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0) {
          ctx.addIssue({ code: 'custom', message: `${tenant}.${field}: expected a whole number >= 0 (0 switches the limit off)` });
        } else {
          override[field as keyof RateLimitOverride] = limit;
        }
      }
      out[tenant] = override;
    }
    return out;
  });

/**
 * The gateway's rate-limit settings, as a shape to spread into the service's config schema:
 * `baseServiceConfig.extend({ ...rateLimitConfig })`. Limits are per minute; 0 (the default) is off.
 * Requests are counted by the gateway; tokens are charged by the agent runtime after each model call and the
 * gateway refuses while a tokens-per-minute allowance is used up.
 */
export const rateLimitConfig = {
  RATE_LIMIT_TENANT_RPM: integer(0),
  RATE_LIMIT_TENANT_TPM: integer(0),
  RATE_LIMIT_KEY_RPM: integer(0),
  RATE_LIMIT_KEY_TPM: integer(0),
  RATE_LIMITS_BY_TENANT: rateLimitsByTenant,
};

const rateLimitSchema = z.object(rateLimitConfig);
export type RateLimitSettings = z.infer<typeof rateLimitSchema>;

/** Parses the rate-limit variables on their own (tests, and services that read only these). */
export const parseRateLimitSettings = (env: Record<string, string | undefined>): RateLimitSettings => rateLimitSchema.parse(env);

/**
 * The limits that apply to a tenant (its override first, else the global setting), without the ones that are
 * off. Pure, so every service that charges or checks a limit computes the same rules from the same settings.
 */
export function rulesFor(settings: RateLimitSettings, tenant: string): RateLimitRule[] {
  const override = settings.RATE_LIMITS_BY_TENANT[tenant] ?? {};
  const candidates: RateLimitRule[] = [
    { scope: 'tenant', kind: 'requests', perMinute: override.tenantRpm ?? settings.RATE_LIMIT_TENANT_RPM },
    { scope: 'tenant', kind: 'tokens', perMinute: override.tenantTpm ?? settings.RATE_LIMIT_TENANT_TPM },
    { scope: 'key', kind: 'requests', perMinute: override.keyRpm ?? settings.RATE_LIMIT_KEY_RPM },
    { scope: 'key', kind: 'tokens', perMinute: override.keyTpm ?? settings.RATE_LIMIT_KEY_TPM },
  ];
  return candidates.filter((rule) => rule.perMinute > 0);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
