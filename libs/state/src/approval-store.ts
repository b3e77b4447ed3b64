import { LuaScript, type RedisScripting } from './redis-port';
import { CLAIM_EXPIRED, DECIDE, INDEX_EXPIRY, MARK_RESUMED, SAVE_PENDING } from './approval-scripts';

export interface ApprovalStoreOptions {
  /** How long a record outlives its expiry, so a late decision still gets 409 rather than 404. */
  retentionSeconds: number;
  keyPrefix?: string;
}

/** What a paused run leaves behind: enough for any replica to continue it. */
export interface PendingApproval {
  /** The paused run: a task id. */
  runId: string;
  agentId: string;
  /** The delivery that paused it (the run log's attempt). */
  attempt: number;
  callId: string;
  toolName: string;
  /** Opaque JSON: the run's checkpoint and where its log continues. */
  state: string;
}

export type ApprovalStatus = 'pending' | 'approved' | 'rejected';

export interface ApprovalRecord extends PendingApproval {
  approvalId: string;
  status: ApprovalStatus;
  reason?: string;
  /** Rejected because nobody decided in time. */
  expired: boolean;
  expiresAt: string;
  resumed: boolean;
}

export type DecideResult = { kind: 'ok' } | { kind: 'missing' } | { kind: 'decided'; status: ApprovalStatus } | { kind: 'expired' };

const scripts = {
  save: new LuaScript(SAVE_PENDING),
  decide: new LuaScript(DECIDE),
  resumed: new LuaScript(MARK_RESUMED),
  index: new LuaScript(INDEX_EXPIRY),
  claim: new LuaScript(CLAIM_EXPIRED),
};

/** An approval whose timeout passed with nobody deciding: the sweeper rejects it and resumes its run. */
export interface ExpiredApproval {
  tenant: string;
  approvalId: string;
}

/**
 * Pending approvals of paused runs in Redis, one hash per approval: decided once (the first decision wins,
 * atomically), and past its timeout a pending approval is rejected when it is next decided. An index of
 * expiry times (a sorted set) lets a sweeper find the ones nobody decides (claimExpired).
 */
export class ApprovalStore {
  private readonly prefix: string;

  constructor(
    private readonly redis: RedisScripting & { hGetAll(key: string): Promise<Record<string, string>> },
    private readonly options: ApprovalStoreOptions,
  ) {
    this.prefix = options.keyPrefix ?? 'keelson:approval';
  }

  private key(tenant: string, approvalId: string): string {
    return `${this.prefix}:{${tenant}:${approvalId}}`;
  }

  /** Records a pending approval; one that exists already (the same call paused again) is kept as it is. */
  async savePending(
    tenant: string,
    approvalId: string,
    pending: PendingApproval,
    timeoutMs: number,
  ): Promise<{ created: boolean; status: ApprovalStatus; expiresAt: string }> {
    const ttl = Math.ceil(timeoutMs / 1000) + this.options.retentionSeconds;
    const fields = Object.entries({ ...pending, attempt: String(pending.attempt) }).flat();
    const raw = (await scripts.save.run(this.redis, [this.key(tenant, approvalId)], [timeoutMs, ttl, ...fields])) as string[];
    if (raw[0] === 'created') {
      // A second key, so a second call: the index may live on another Redis Cluster slot than the approval.
      await this.indexExpiry({ tenant, approvalId }, Number(raw[1]));
      return { created: true, status: 'pending', expiresAt: new Date(Number(raw[1])).toISOString() };
    }
    return { created: false, status: raw[1] as ApprovalStatus, expiresAt: new Date(Number(raw[2])).toISOString() };
  }

  async decide(tenant: string, approvalId: string, approved: boolean, reason?: string): Promise<DecideResult> {
    const raw = (await scripts.decide.run(this.redis, [this.key(tenant, approvalId)], [approved ? 'approved' : 'rejected', reason ?? ''])) as string[];
    if (raw[0] === 'decided') return { kind: 'decided', status: raw[1] as ApprovalStatus };
    return { kind: raw[0] as 'ok' | 'missing' | 'expired' };
  }

  async get(tenant: string, approvalId: string): Promise<ApprovalRecord | undefined> {
    const h = await this.redis.hGetAll(this.key(tenant, approvalId));
    if (!h['status']) return undefined;
    return {
      approvalId,
      runId: h['runId'] ?? '',
      agentId: h['agentId'] ?? '',
      attempt: Number(h['attempt'] ?? 1),
      callId: h['callId'] ?? '',
      toolName: h['toolName'] ?? '',
      state: h['state'] ?? '{}',
      status: h['status'] as ApprovalStatus,
      ...(h['reason'] ? { reason: h['reason'] } : {}),
      expired: h['expired'] === '1',
      expiresAt: new Date(Number(h['expiresAtMs'])).toISOString(),
      resumed: h['resumed'] === '1',
    };
  }

  /** Puts an approval (back) on the expiry index, due at `atMs` (epoch ms, Redis's clock). */
  async indexExpiry(approval: ExpiredApproval, atMs: number): Promise<void> {
    await scripts.index.run(this.redis, [this.indexKey()], [atMs, `${approval.tenant}/${approval.approvalId}`]);
  }

  /** Takes up to `limit` approvals past their expiry off the index; each goes to exactly one caller. */
  async claimExpired(limit = 100): Promise<ExpiredApproval[]> {
    const due = (await scripts.claim.run(this.redis, [this.indexKey()], [limit])) as string[];
    return due.map((member) => {
      const slash = member.indexOf('/');
      return { tenant: member.slice(0, slash), approvalId: member.slice(slash + 1) };
    });
  }

  private indexKey(): string {
    return `${this.prefix}:expiries`;
  }

  /** True the first time: the run this approval paused has been continued to its end (or its next pause). */
  async markResumed(tenant: string, approvalId: string): Promise<boolean> {
    return Number(await scripts.resumed.run(this.redis, [this.key(tenant, approvalId)], [])) === 1;
  }
}
