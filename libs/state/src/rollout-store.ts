import { createHash, randomUUID } from 'node:crypto';
import {
  ErrorCodes,
  KeelsonError,
  RolloutSchema,
  type KillSwitch,
  type KillSwitchKind,
  type Rollout,
  type RolloutVerdict,
  type VersionOutcomes,
} from '@keelson/contracts';
import { LuaScript, type RedisScripting } from './redis-port';

/**
 * Rollouts of agent versions and kill switches, in Redis (docs/rollouts.md). Framework-free.
 *
 * Keys (prefix `keelson:`):
 * - `rollouts` (hash): agent id -> the rollout's JSON. Every change is a compare-and-set on its `revision`
 *   (one Lua script), so two operators, or two evaluators on two replicas, never both act on one revision.
 * - `rollout-outcomes:{agentId}:{generation}` (hash): `runs|failures|cost:{version}` counters, kept 30 days.
 * - `kill-switches` (hash): `agent:{id}` / `tenant:{id}` -> `{reason, setAt, setBy}`.
 */

/** Writes `ARGV[3]` at field `ARGV[1]` only if the stored revision is `ARGV[2]` (-1: nothing stored). */
const CAS_ROLLOUT = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local rev = -1
if cur then rev = tonumber(cjson.decode(cur).revision) end
if rev ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
`;

/** One finished run of one version: three counters and the key's expiry, in one round trip. */
const RECORD_OUTCOME = `
redis.call('HINCRBY', KEYS[1], 'runs:' .. ARGV[1], 1)
redis.call('HINCRBY', KEYS[1], 'failures:' .. ARGV[1], tonumber(ARGV[2]))
redis.call('HINCRBY', KEYS[1], 'cost:' .. ARGV[1], tonumber(ARGV[3]))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return 1
`;

/** Both hashes a replica keeps in memory, read in one round trip. */
const SNAPSHOT = `return { redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]) }`;

const scripts = { cas: new LuaScript(CAS_ROLLOUT), record: new LuaScript(RECORD_OUTCOME), snapshot: new LuaScript(SNAPSHOT) };

export const OUTCOME_TTL_SECONDS = 30 * 24 * 3600;

export interface RolloutRedis extends RedisScripting {
  hGetAll(key: string): Promise<Record<string, string>>;
  hGet(key: string, field: string): Promise<string | null | undefined>;
  hSet(key: string, field: string, value: string): Promise<number>;
  hDel(key: string, field: string): Promise<number>;
}

export interface RolloutSnapshot {
  rollouts: Map<string, Rollout>;
  /** `agent:{id}` / `tenant:{id}` -> the switch. */
  killSwitches: Map<string, KillSwitch>;
}

/** Where in [0, 1) a run key falls for an agent: the same on every replica, for every retry. */
export function rolloutBucket(agentId: string, runKey: string): number {
  return createHash('sha256').update(`${agentId}\u0000${runKey}`).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * The version of one run: a tenant pin first; then the version the run's session already runs (`sticky`)
 * while the rollout still serves it: stable always, the canary only while `running` (a rollback or pause
 * moves a session off it); then, while `running`, the canary for the share of run keys whose bucket is
 * below `canaryShare`; stable otherwise (paused, rolled back, promoted: promote made the canary stable).
 * So a conversation started before a rollout, or on a replica that had not seen it yet, stays on its version.
 */
export function pickVersion(
  rollout: Rollout,
  tenant: string,
  runKey: string,
  sticky?: string,
): { version: string; arm: 'stable' | 'canary' | 'pinned'; generation: string } {
  const { generation } = rollout;
  const pinned = rollout.pins[tenant];
  if (pinned) return { version: pinned, arm: 'pinned', generation };
  const canaryServes = rollout.state === 'running' && rollout.canaryShare > 0;
  if (sticky === rollout.stable) return { version: rollout.stable, arm: 'stable', generation };
  if (sticky === rollout.canary && canaryServes) return { version: rollout.canary, arm: 'canary', generation };
  if (canaryServes && rolloutBucket(rollout.agentId, runKey) < rollout.canaryShare) {
    return { version: rollout.canary, arm: 'canary', generation };
  }
  return { version: rollout.stable, arm: 'stable', generation };
}

export interface OutcomeCounts {
  stable: VersionOutcomes;
  canary: VersionOutcomes;
}

function outcomesOf(raw: Record<string, string>, version: string): VersionOutcomes {
  const runs = Number(raw[`runs:${version}`] ?? 0);
  const failures = Number(raw[`failures:${version}`] ?? 0);
  const costMicroUsd = Number(raw[`cost:${version}`] ?? 0);
  return { version, runs, failures, costMicroUsd, errorRate: runs ? failures / runs : 0, costPerRunMicroUsd: runs ? costMicroUsd / runs : 0 };
}

/**
 * Whether a running rollout's canary must be rolled back: only once it has `minRuns` runs; then when its error
 * rate is above `maxErrorRate`, its cost per run above `maxCostPerRunMicroUsd`, or (when set, and stable has
 * `minRuns` too) its error rate above stable's by more than `maxErrorRateAboveStable`. Undefined: keep going.
 */
export function judgeRollout(rollout: Rollout, counts: OutcomeCounts): RolloutVerdict | undefined {
  if (rollout.state !== 'running') return undefined;
  const { thresholds: t } = rollout;
  const { canary, stable } = counts;
  if (canary.runs < t.minRuns) return undefined;
  const reasons: string[] = [];
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  if (canary.errorRate > t.maxErrorRate) reasons.push(`error rate ${pct(canary.errorRate)} above ${pct(t.maxErrorRate)}`);
  if (t.maxCostPerRunMicroUsd !== undefined && canary.costPerRunMicroUsd > t.maxCostPerRunMicroUsd) {
    reasons.push(`cost per run ${Math.round(canary.costPerRunMicroUsd)} micro-USD above ${t.maxCostPerRunMicroUsd}`);
  }
  if (t.maxErrorRateAboveStable !== undefined && stable.runs >= t.minRuns && canary.errorRate > stable.errorRate + t.maxErrorRateAboveStable) {
    reasons.push(`error rate ${pct(canary.errorRate)} above stable's ${pct(stable.errorRate)} by more than ${pct(t.maxErrorRateAboveStable)}`);
  }
  if (reasons.length === 0) return undefined;
  const brief = (o: VersionOutcomes) => ({ runs: o.runs, failures: o.failures, errorRate: o.errorRate, costPerRunMicroUsd: o.costPerRunMicroUsd });
  return { reasons, canary: brief(canary), stable: brief(stable) };
}

export const newGeneration = (): string => `gen_${randomUUID().replace(/-/g, '').slice(0, 16)}`;

export class RolloutStore {
  private readonly prefix: string;

  constructor(
    private readonly redis: RolloutRedis,
    options: { keyPrefix?: string } = {},
  ) {
    this.prefix = options.keyPrefix ?? 'keelson:';
  }

  private get rolloutsKey(): string {
    return `${this.prefix}rollouts`;
  }

  private get switchesKey(): string {
    return `${this.prefix}kill-switches`;
  }

  private outcomesKey(agentId: string, generation: string): string {
    return `${this.prefix}rollout-outcomes:${agentId}:${generation}`;
  }

  async get(agentId: string): Promise<Rollout | undefined> {
    const raw = await this.redis.hGet(this.rolloutsKey, agentId);
    return raw ? RolloutSchema.parse(JSON.parse(raw)) : undefined;
  }

  async list(): Promise<Rollout[]> {
    const all = await this.redis.hGetAll(this.rolloutsKey);
    return Object.values(all)
      .map((raw) => RolloutSchema.parse(JSON.parse(raw)))
      .sort((a, b) => a.agentId.localeCompare(b.agentId));
  }

  /**
   * Writes `next` over the revision `expected` read (undefined: none may exist); its revision becomes
   * expected + 1. False when someone else changed the rollout in between.
   */
  async compareAndSet(expected: Rollout | undefined, next: Omit<Rollout, 'revision'>): Promise<Rollout | undefined> {
    const stored = RolloutSchema.parse({ ...next, revision: expected ? expected.revision + 1 : 0 });
    const ok = await scripts.cas.run(this.redis, [this.rolloutsKey], [stored.agentId, expected ? expected.revision : -1, JSON.stringify(stored)]);
    return Number(ok) === 1 ? stored : undefined;
  }

  /**
   * Read, change, compare-and-set, retried a few times when another writer got in between. `change` returns
   * the new rollout, or throws (a KeelsonError) to refuse.
   */
  async update(agentId: string, change: (current: Rollout | undefined) => Omit<Rollout, 'revision'>): Promise<{ before: Rollout | undefined; after: Rollout }> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = await this.get(agentId);
      const after = await this.compareAndSet(before, change(before));
      if (after) return { before, after };
    }
    throw new KeelsonError(409, ErrorCodes.validationFailed, `the rollout of "${agentId}" kept changing under this request; retry`, 'agentId');
  }

  /** Counts one finished run of a version (one round trip). */
  async record(agentId: string, generation: string, version: string, ok: boolean, costMicroUsd: number): Promise<void> {
    await scripts.record.run(this.redis, [this.outcomesKey(agentId, generation)], [version, ok ? 0 : 1, Math.max(0, Math.round(costMicroUsd)), OUTCOME_TTL_SECONDS]);
  }

  /** Runs, failures and cost of the rollout's stable and canary within its generation. */
  async outcomes(rollout: Rollout): Promise<OutcomeCounts> {
    const raw = await this.redis.hGetAll(this.outcomesKey(rollout.agentId, rollout.generation));
    return { stable: outcomesOf(raw, rollout.stable), canary: outcomesOf(raw, rollout.canary) };
  }

  /**
   * Judges one rollout and, when a threshold is crossed, rolls it back (share 0, state rolled_back, the
   * verdict kept) over the revision it judged. Only the caller whose write lands gets the verdict back, so
   * any number of evaluators act once per rollout.
   */
  async evaluate(agentId: string, now = new Date()): Promise<{ rollout: Rollout; verdict: RolloutVerdict } | undefined> {
    const rollout = await this.get(agentId);
    if (!rollout || rollout.state !== 'running') return undefined;
    const verdict = judgeRollout(rollout, await this.outcomes(rollout));
    if (!verdict) return undefined;
    const { revision: _revision, ...rest } = rollout;
    const after = await this.compareAndSet(rollout, {
      ...rest,
      state: 'rolled_back',
      canaryShare: 0,
      updatedAt: now.toISOString(),
      updatedBy: 'evaluator',
      reason: `automatic rollback: ${verdict.reasons.join('; ')}`,
      verdict,
    });
    return after ? { rollout: after, verdict } : undefined;
  }

  async setKillSwitch(kind: KillSwitchKind, id: string, reason: string, setBy?: string, now = new Date()): Promise<KillSwitch> {
    const value: KillSwitch = { kind, id, reason, setAt: now.toISOString(), ...(setBy ? { setBy } : {}) };
    await this.redis.hSet(this.switchesKey, `${kind}:${id}`, JSON.stringify(value));
    return value;
  }

  /** Clears a switch; returns it, or undefined when it was not set. */
  async clearKillSwitch(kind: KillSwitchKind, id: string): Promise<KillSwitch | undefined> {
    const key = `${kind}:${id}`;
    const raw = await this.redis.hGet(this.switchesKey, key);
    if (!raw) return undefined;
    await this.redis.hDel(this.switchesKey, key);
    return JSON.parse(raw) as KillSwitch;
  }

  async listKillSwitches(): Promise<KillSwitch[]> {
    return [...(await this.snapshot()).killSwitches.values()].sort((a, b) => `${a.kind}:${a.id}`.localeCompare(`${b.kind}:${b.id}`));
  }

  /** Every rollout and kill switch, in one round trip; an entry that does not parse is left out. */
  async snapshot(): Promise<RolloutSnapshot> {
    const [rolloutsFlat, switchesFlat] = (await scripts.snapshot.run(this.redis, [this.rolloutsKey, this.switchesKey], [])) as [string[], string[]];
    const rollouts = new Map<string, Rollout>();
    for (let i = 0; i + 1 < rolloutsFlat.length; i += 2) {
      const parsed = RolloutSchema.safeParse(safeJson(rolloutsFlat[i + 1]!));
      if (parsed.success) rollouts.set(rolloutsFlat[i]!, parsed.data);
    }
    const killSwitches = new Map<string, KillSwitch>();
    for (let i = 0; i + 1 < switchesFlat.length; i += 2) {
      const value = safeJson(switchesFlat[i + 1]!) as KillSwitch | undefined;
      if (value && typeof value.reason === 'string') killSwitches.set(switchesFlat[i]!, value);
    }
    return { rollouts, killSwitches };
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export interface RolloutControlOptions {
  /** How often the snapshot is read again; default 1000 ms. A change reaches every replica within this. */
  refreshMs?: number;
  logger?: { warn(message: string, meta?: Record<string, unknown>): void };
}

/**
 * A replica's view of the rollouts and kill switches: a snapshot read every `refreshMs` (one round trip
 * per replica and second, whatever the traffic), so checking a request or choosing a run's version costs no
 * Redis call. When Redis cannot be read the last snapshot stays (logged): a Redis outage neither kills
 * agents nor ends rollouts. It fits @keelson/runtime's RolloutPort.
 */
export class RolloutControl {
  private current: RolloutSnapshot = { rollouts: new Map(), killSwitches: new Map() };
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  /** Counts applyLocally calls, so a refresh that began before one does not undo it. */
  private localChanges = 0;

  constructor(
    readonly store: RolloutStore,
    private readonly options: RolloutControlOptions = {},
  ) {}

  /** Reads the first snapshot, then keeps it fresh. */
  async start(): Promise<void> {
    await this.refresh();
    if (this.timer) return;
    this.timer = setInterval(() => void this.refresh(), this.options.refreshMs ?? 1_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  async refresh(): Promise<void> {
    const applied = this.localChanges;
    try {
      const read = await this.store.snapshot();
      // A change applied here while the read was under way may be missing from it: keep it; the next read has it.
      if (this.localChanges === applied) this.current = read;
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.options.logger?.warn('rollouts and kill switches could not be read; the last ones read stay in force', { error: (err as Error).message });
      this.failing = true;
    }
  }

  snapshot(): RolloutSnapshot {
    return this.current;
  }

  /** Put into this replica's snapshot at once (the admin API's own replica); the others see it on refresh. */
  applyLocally(change: { rollout?: Rollout; setSwitch?: KillSwitch; clearSwitch?: { kind: KillSwitchKind; id: string } }): void {
    const rollouts = new Map(this.current.rollouts);
    const killSwitches = new Map(this.current.killSwitches);
    if (change.rollout) rollouts.set(change.rollout.agentId, change.rollout);
    if (change.setSwitch) killSwitches.set(`${change.setSwitch.kind}:${change.setSwitch.id}`, change.setSwitch);
    if (change.clearSwitch) killSwitches.delete(`${change.clearSwitch.kind}:${change.clearSwitch.id}`);
    this.current = { rollouts, killSwitches };
    this.localChanges++;
  }

  refusal(tenant: string, agentId: string): KeelsonError | undefined {
    const suspended = this.current.killSwitches.get(`tenant:${tenant}`);
    if (suspended) return new KeelsonError(503, ErrorCodes.tenantSuspended, `tenant "${tenant}" is suspended: ${suspended.reason}`);
    const disabled = this.current.killSwitches.get(`agent:${agentId}`);
    if (disabled) return new KeelsonError(503, ErrorCodes.agentDisabled, `agent "${agentId}" is disabled: ${disabled.reason}`, 'agentId');
    return undefined;
  }

  choose(agentId: string, tenant: string, runKey: string, sticky?: string): { version: string; arm: 'stable' | 'canary' | 'pinned'; generation: string } | undefined {
    const rollout = this.current.rollouts.get(agentId);
    return rollout ? pickVersion(rollout, tenant, runKey, sticky) : undefined;
  }

  async record(agentId: string, choice: { version: string; generation: string }, ok: boolean, costMicroUsd: number): Promise<void> {
    try {
      await this.store.record(agentId, choice.generation, choice.version, ok, costMicroUsd);
    } catch (err) {
      this.options.logger?.warn('a run was not counted for its rollout', { agent: agentId, version: choice.version, error: (err as Error).message });
    }
  }
}
