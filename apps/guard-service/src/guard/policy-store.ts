import { GuardErrorCodes, GuardPolicySchema, KeelsonError, type ErrorCode, type GuardPolicy } from '@keelson/contracts';
import { DEFAULT_POLICY, parsePolicy } from '@keelson/guard';

/** The node-redis calls the store makes. */
export interface PolicyRedis {
  hGetAll(key: string): Promise<Record<string, string>>;
  eval(script: string, opts: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

/** Compare-and-set: refuses when `expected` is given and is not the stored version; else stores version + 1. */
const PUT_SCRIPT = `
local v = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= v then return -1 - v end
redis.call('HSET', KEYS[1], 'version', v + 1, 'policy', ARGV[2], 'updatedAt', ARGV[3])
return v + 1
`;

export const policyKey = (tenant: string) => `keelson:guard:policy:${tenant}`;

/**
 * Tenants' guard policies in Redis, one hash per tenant (`keelson:guard:policy:{tenant}`: version, policy
 * JSON, updatedAt). Reads are cached per replica for `cacheMs`; a write bumps the version atomically.
 * A tenant without a stored policy gets DEFAULT_POLICY (version 0).
 */
export class PolicyStore {
  private readonly cache = new Map<string, { at: number; policy: GuardPolicy }>();

  constructor(
    private readonly redis: PolicyRedis,
    private readonly cacheMs = 2_000,
  ) {}

  async get(tenant: string): Promise<GuardPolicy> {
    const hit = this.cache.get(tenant);
    if (hit && Date.now() - hit.at < this.cacheMs) return hit.policy;
    const h = await this.redis.hGetAll(policyKey(tenant));
    const policy = h['policy']
      ? GuardPolicySchema.parse({ ...JSON.parse(h['policy']), version: Number(h['version']), updatedAt: h['updatedAt'] })
      : DEFAULT_POLICY;
    this.cache.set(tenant, { at: Date.now(), policy });
    return policy;
  }

  /** Validates (a ZodError names the bad field), stores as the next version, returns the stored policy. */
  async put(tenant: string, input: unknown, expectedVersion?: number): Promise<GuardPolicy> {
    const parsed = parsePolicy(input);
    const updatedAt = new Date().toISOString();
    const result = Number(
      await this.redis.eval(PUT_SCRIPT, { keys: [policyKey(tenant)], arguments: [expectedVersion === undefined ? '' : String(expectedVersion), JSON.stringify(parsed), updatedAt] }),
    );
    if (result < 0) {
      throw new KeelsonError(
        409,
        GuardErrorCodes.policyVersionConflict as unknown as ErrorCode,
        `the stored policy is version ${-1 - result}, not ${expectedVersion}; read it again and retry`,
        'expectedVersion',
      );
    }
    const policy: GuardPolicy = { ...parsed, version: result, updatedAt };
    this.cache.set(tenant, { at: Date.now(), policy });
    return policy;
  }
}
