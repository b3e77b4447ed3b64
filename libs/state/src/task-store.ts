import type { RunOutcome, TaskError, TaskStatus, TaskView } from '@keelson/contracts';
import { LuaScript, type RedisScripting } from './redis-port';
import { CLAIM, FINISH, RECORD_QUEUED } from './task-scripts';

export interface TaskStoreOptions {
  /** How long a task's record (and so `GET /v1/tasks/{id}`) outlives its last change. */
  ttlSeconds: number;
  keyPrefix?: string;
}

export type ClaimResult = { kind: 'ok'; attempts: number } | { kind: 'done'; status: TaskStatus } | { kind: 'busy' };

const scripts = { queued: new LuaScript(RECORD_QUEUED), claim: new LuaScript(CLAIM), finish: new LuaScript(FINISH) };

/** Task records in Redis: the status callers poll, and the guard that keeps a finished task from running again. */
export class TaskStore {
  private readonly prefix: string;

  constructor(
    private readonly redis: RedisScripting & { hGetAll(key: string): Promise<Record<string, string>> },
    private readonly options: TaskStoreOptions,
  ) {
    this.prefix = options.keyPrefix ?? 'keelson:task';
  }

  private key(tenant: string, taskId: string): string {
    return `${this.prefix}:{${tenant}:${taskId}}`;
  }

  async recordQueued(tenant: string, taskId: string, agentId: string): Promise<TaskStatus> {
    const nowIso = new Date().toISOString();
    return (await scripts.queued.run(this.redis, [this.key(tenant, taskId)], [agentId, nowIso, this.options.ttlSeconds])) as TaskStatus;
  }

  async claim(tenant: string, taskId: string, agentId: string, owner: string, leaseMs: number): Promise<ClaimResult> {
    const nowIso = new Date().toISOString();
    const raw = (await scripts.claim.run(this.redis, [this.key(tenant, taskId)], [
      agentId,
      nowIso,
      this.options.ttlSeconds,
      owner,
      leaseMs,
    ])) as [string, string | number];
    if (raw[0] === 'ok') return { kind: 'ok', attempts: Number(raw[1]) };
    if (raw[0] === 'done') return { kind: 'done', status: raw[1] as TaskStatus };
    return { kind: 'busy' };
  }

  async finish(tenant: string, taskId: string, outcome: { result: RunOutcome } | { error: TaskError }): Promise<void> {
    const succeeded = 'result' in outcome;
    await scripts.finish.run(this.redis, [this.key(tenant, taskId)], [
      succeeded ? 'succeeded' : 'failed',
      new Date().toISOString(),
      this.options.ttlSeconds,
      succeeded ? JSON.stringify(outcome.result) : '',
      succeeded ? '' : JSON.stringify(outcome.error),
    ]);
  }

  async get(tenant: string, taskId: string): Promise<TaskView | undefined> {
    const h = await this.redis.hGetAll(this.key(tenant, taskId));
    if (!h || !h['status']) return undefined;
    const view: TaskView = {
      taskId,
      agentId: h['agentId'] ?? '',
      status: h['status'] as TaskStatus,
      attempts: Number(h['attempts'] ?? 0),
      createdAt: h['createdAt'] ?? h['updatedAt'] ?? '',
      updatedAt: h['updatedAt'] ?? '',
    };
    if (h['result']) view.result = JSON.parse(h['result']) as RunOutcome;
    if (h['error']) view.error = JSON.parse(h['error']) as TaskError;
    return view;
  }
}
