import type { ChatMessage, ConcurrencyPolicy, SessionView } from '@keelson/contracts';
import { LuaScript, type RedisScripting } from './redis-port';
import { ABANDON_TURN, ABSORB_TURN, BEGIN_TURN, COMMIT_TURN, CREATE_SESSION, READ_SESSION, RESERVE_TURN } from './session-scripts';

export interface SessionStoreOptions {
  /** Idle time after which a session expires; every turn refreshes it. */
  ttlSeconds: number;
  /** History kept per session; older messages are trimmed, so a long session cannot grow without bound. */
  maxMessages: number;
  keyPrefix?: string;
  /**
   * How long a reserved turn may go unseen by every replica before later turns may pass it as lost
   * (its gateway died between reserving and publishing). Default 30 s.
   */
  missingTurnAfterMs?: number;
}

export type HistoryMessage = Pick<ChatMessage, 'content'> & { role: 'user' | 'assistant' };

/**
 * A reservation: `turn` is the new turn's number; `running` the turn the session was busy with (0 when idle).
 * `rejected` (policy reject, session busy): nothing was reserved.
 */
export type ReserveTurnResult =
  | { kind: 'reserved'; turn: number; agentId: string; running: number; userId?: string; claim?: TurnClaim }
  | { kind: 'rejected'; agentId: string; running: number; userId?: string };

/**
 * The lease RESERVE_TURN took on behalf of a new turn that is the session's next, with what BEGIN_TURN would
 * have read: the replica that receives the turn runs it as `owner` until `until` (epoch ms, Redis clock)
 * without a BEGIN_TURN of its own.
 */
export interface TurnClaim {
  owner: string;
  until: number;
  agentVersion?: string;
  history: HistoryMessage[];
}

export interface ReserveOptions {
  /** Claim the lease for this long when the turn is next (0 or absent: never). */
  claimLeaseMs?: number;
  /** No claim when the history is longer than this (it travels in the turn message). Default 64 KiB. */
  claimMaxHistoryBytes?: number;
}

export type BeginTurnResult =
  | {
      kind: 'ok';
      agentId: string;
      /** The agent version the session's last run turn ran; absent before one did (see commitTurn). */
      agentVersion?: string;
      history: HistoryMessage[];
      /** A later message interrupted this turn. */
      cancelled: boolean;
      /** The turn whose run took this turn's message in (the `steer` policy); 0 when none did. */
      absorbedInto: number;
      /** Messages of later turns this turn's run took in before (it is running again), in order. */
      steers: string[];
    }
  | { kind: 'done' }
  | { kind: 'wait' }
  | { kind: 'busy' }
  | { kind: 'gone' };

const scripts = {
  create: new LuaScript(CREATE_SESSION),
  read: new LuaScript(READ_SESSION),
  reserve: new LuaScript(RESERVE_TURN),
  abandon: new LuaScript(ABANDON_TURN),
  begin: new LuaScript(BEGIN_TURN),
  absorb: new LuaScript(ABSORB_TURN),
  commit: new LuaScript(COMMIT_TURN),
  agentOf: new LuaScript(`return redis.call('HGET', KEYS[1], 'agentId')`),
};

/**
 * Session state in Redis, each step a single script, atomic across replicas. A turn costs two round trips
 * when the session is idle (the gateway's reserve, which claims the lease for the turn, and the runner's
 * commit) and three when it had to queue (the runner's begin as well).
 */
export class SessionStore {
  private readonly prefix: string;

  constructor(
    private readonly redis: RedisScripting & { del(keys: string[]): Promise<number> },
    private readonly options: SessionStoreOptions,
  ) {
    this.prefix = options.keyPrefix ?? 'keelson:session';
  }

  /** `{tenant:id}` is a hash tag: both keys of a session land on one Redis Cluster slot. */
  private keys(tenant: string, sessionId: string): [string, string] {
    const base = `${this.prefix}:{${tenant}:${sessionId}}`;
    return [base, `${base}:history`];
  }

  async create(tenant: string, sessionId: string, agentId: string, userId?: string): Promise<{ expiresAt: string }> {
    await scripts.create.run(this.redis, this.keys(tenant, sessionId), [agentId, new Date().toISOString(), this.options.ttlSeconds, userId ?? '']);
    return { expiresAt: new Date(Date.now() + this.options.ttlSeconds * 1000).toISOString() };
  }

  async get(tenant: string, sessionId: string): Promise<SessionView | undefined> {
    const raw = (await scripts.read.run(this.redis, this.keys(tenant, sessionId), [])) as string[] | null;
    if (!raw) return undefined;
    const [agentId, createdAt, done, pttl, userId, ...history] = raw;
    return {
      sessionId,
      agentId: agentId!,
      ...(userId ? { userId } : {}),
      createdAt: createdAt!,
      expiresAt: new Date(Date.now() + Math.max(Number(pttl), 0)).toISOString(),
      turns: Number(done),
      messages: history.map((m) => JSON.parse(m) as HistoryMessage),
    };
  }

  async delete(tenant: string, sessionId: string): Promise<boolean> {
    return (await this.redis.del(this.keys(tenant, sessionId))) > 0;
  }

  /**
   * Assigns the next turn number under a concurrency policy (see RESERVE_TURN), or undefined when the
   * session does not exist (or has expired).
   */
  async reserveTurn(
    tenant: string,
    sessionId: string,
    policy: ConcurrencyPolicy = 'enqueue',
    options: ReserveOptions = {},
  ): Promise<ReserveTurnResult | undefined> {
    const raw = (await scripts.reserve.run(this.redis, this.keys(tenant, sessionId), [
      this.options.ttlSeconds,
      policy,
      this.options.missingTurnAfterMs ?? 30_000,
      options.claimLeaseMs ?? 0,
      options.claimMaxHistoryBytes ?? 65_536,
    ])) as [number, string, number, string, number?, string?, ...string[]] | null;
    if (!raw) return undefined;
    const [turn, agentId, running] = [Number(raw[0]), raw[1], Number(raw[2])];
    const user = raw[3] ? { userId: raw[3] } : {};
    if (turn === 0) return { kind: 'rejected', agentId, running, ...user };
    const until = Number(raw[4] ?? 0);
    if (until === 0) return { kind: 'reserved', turn, agentId, running, ...user };
    const agentVersion = raw[5];
    const claim: TurnClaim = {
      owner: `pre:${turn}`,
      until,
      ...(agentVersion ? { agentVersion } : {}),
      history: raw.slice(6).map((m) => JSON.parse(m as string) as HistoryMessage),
    };
    return { kind: 'reserved', turn, agentId, running, ...user, claim };
  }

  /** The session's agent, or undefined when the session does not exist. */
  async agentOf(tenant: string, sessionId: string): Promise<string | undefined> {
    const agentId = await scripts.agentOf.run(this.redis, this.keys(tenant, sessionId), []);
    return typeof agentId === 'string' ? agentId : undefined;
  }

  /** The gateway could not publish a turn it reserved: the turns after it must not wait for it. */
  async abandonTurn(tenant: string, sessionId: string, turn: number): Promise<void> {
    await scripts.abandon.run(this.redis, this.keys(tenant, sessionId), [turn]);
  }

  async beginTurn(
    tenant: string,
    sessionId: string,
    turn: number,
    owner: string,
    leaseMs: number,
    skipMissing = false,
  ): Promise<BeginTurnResult> {
    const raw = (await scripts.begin.run(this.redis, this.keys(tenant, sessionId), [
      turn,
      owner,
      leaseMs,
      skipMissing ? 1 : 0,
      this.options.missingTurnAfterMs ?? 30_000,
    ])) as string[];
    const [kind, agentId, agentVersion, cancelled, absorbedInto, steerCount, ...rest] = raw;
    if (kind === 'ok') {
      const steers = rest.slice(0, Number(steerCount));
      const history = rest.slice(steers.length).map((m) => JSON.parse(m) as HistoryMessage);
      return { kind, agentId: agentId!, ...(agentVersion ? { agentVersion } : {}), cancelled: Number(cancelled) === 1, absorbedInto: Number(absorbedInto), steers, history };
    }
    return { kind: kind as 'done' | 'wait' | 'busy' | 'gone' };
  }

  /**
   * The `steer` policy: the run of `running` (leased by `owner`) takes in the message of the later turn
   * `steer`. True when it may (see ABSORB_TURN); the turn then ends as that run's reply, not a run of its own.
   */
  async absorbTurn(tenant: string, sessionId: string, running: number, steer: number, owner: string, content: string): Promise<boolean> {
    return (await scripts.absorb.run(this.redis, this.keys(tenant, sessionId), [running, steer, owner, content])) === 'ok';
  }

  /**
   * Records a finished turn; `messages` is empty for a failed turn, which still advances the order.
   * `agentVersion`, the version the turn ran, is kept for the session's next turns (a rollout keeps a
   * conversation on one version); omitted, the recorded one stays.
   */
  async commitTurn(
    tenant: string,
    sessionId: string,
    turn: number,
    owner: string,
    messages: HistoryMessage[],
    agentVersion = '',
  ): Promise<'ok' | 'conflict' | 'gone'> {
    return (await scripts.commit.run(this.redis, this.keys(tenant, sessionId), [
      turn,
      owner,
      this.options.ttlSeconds,
      this.options.maxMessages,
      agentVersion,
      ...messages.map((m) => JSON.stringify(m)),
    ])) as 'ok' | 'conflict' | 'gone';
  }
}
