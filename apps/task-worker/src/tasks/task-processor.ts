import {
  ApprovalCommandSchema,
  AuditTypes,
  ErrorCodes,
  approvalIdFor,
  parseApprovalSubject,
  TERMINAL_TASK_STATUSES,
  KeelsonError,
  Subjects,
  TENANT_ID_PATTERN,
  TaskMessageSchema,
  parseOrThrow,
  parseTaskSubject,
  type ChatMessage,
  type ConsumerSpec,
  type TaskError,
  type TaskMessage,
} from '@keelson/contracts';
import type { AuditSink } from '@keelson/audit';
import type { InlineGuard, RunGuard } from '@keelson/guard';
import { DeferError, PoisonMessageError, type MessagingLogger } from '@keelson/messaging';
import { AgentMemory } from '@keelson/memory';
import { metricsRegistry, runWithTenant } from '@keelson/observability';
import {
  RunLog,
  runLogged,
  runLoggedPausable,
  settleRunLog,
  type AgentDefinition,
  type AgentRegistry,
  type LoggedRunResult,
  type PausedRunResult,
  type RunCheckpoint,
  type RunLogPosition,
  type EventPublisher,
  type ProviderRegistry,
  type RoutingService,
  type ToolRegistry,
  type UsageMeter,
  countsAgainstVersion,
  pickAgent,
  recordAgentRun,
  refusalError,
  tallyRunCost,
  type RolloutPort,
  type VersionChoice,
} from '@keelson/runtime';
import type { ApprovalStore, TaskStore } from '@keelson/state';
import { resolveTaskId } from './task-id';
import { TASK_WORKER_SOURCE, buildTaskResult, resultEvent, resultId, type TaskEnd } from './task-result';

/** What the processor reads of a JetStream message. */
export interface TaskDelivery {
  subject: string;
  data: unknown;
  msgId?: string;
  stream: string;
  streamSeq: number;
  deliveryCount: number;
}

/** How a task message was settled (acknowledged); retries and deferrals are thrown instead. */
export type TaskSettlement = 'succeeded' | 'failed' | 'already-done' | 'held-elsewhere' | 'paused';

/** How an approval command was settled. */
export type ApprovalSettlement = TaskSettlement | 'unknown-approval';

/** What a paused task stores with its approval (ApprovalStore's opaque `state`). */
interface PausedTaskState {
  checkpoint: RunCheckpoint;
  log: RunLogPosition;
  /** The key the task was submitted with: the resumed run is charged to it too. */
  apiKeyId?: string;
  /** The task's end user: the resumed run's memory_recall reads their memories. */
  userId?: string;
}

export interface TaskProcessorDeps {
  tasks: Pick<TaskStore, 'claim' | 'finish' | 'get'>;
  /** Pending approvals of paused tasks; without it a tool needing approval is answered as an error. */
  approvals?: Pick<ApprovalStore, 'savePending' | 'decide' | 'get' | 'markResumed'>;
  publisher: EventPublisher;
  agents: Pick<AgentRegistry, 'get'> & Partial<Pick<AgentRegistry, 'getVersion'>>;
  /** Kill switches and rollouts (docs/rollouts.md): the version a task runs, by task id (retries keep it); none when absent. */
  rollouts?: RolloutPort;
  providers: ProviderRegistry;
  /** The tools agents may call (each agent only those it lists); none when absent. */
  tools?: ToolRegistry;
  /** The consumer as provisioned: its maxDeliver says which delivery is the last. */
  consumer: Pick<ConsumerSpec, 'maxDeliver' | 'ackWaitMs'>;
  logger: MessagingLogger;
  /** Budgets and usage records of every model call; unmetered when absent (unit tests). */
  metering?: Pick<UsageMeter, 'forRun'>;
  /** The agent's memory policy: recall before a task, remember after; none when absent (unit tests). */
  memory?: Pick<AgentMemory, 'contextFor' | 'remember'>;
  /** Model routing and the exact response cache; none when absent (unit tests). */
  routing?: Pick<RoutingService, 'forRun'>;
  /** Audit events of each run step and of the task's end; none when absent (unit tests). */
  audit?: AuditSink;
  /** The tenant's guard, in process: input checks and the output filter; none when absent (unit tests). */
  guard?: Pick<InlineGuard, 'forRun'>;
}

/** An attempt that failed and will be retried: the runner naks the message with the consumer's backoff. */
export class AttemptFailedError extends Error {
  override readonly name = 'AttemptFailedError';
  constructor(readonly error: TaskError) {
    super(`agent failed, will retry: ${error.message}`);
  }
}

/** The wait before a task held by another live delivery is offered again. */
export const BUSY_RETRY_MS = 1_000;

/**
 * Runs async tasks from `keelson.tasks.{tenant}.{agentId}` with exactly one result per task, whatever the
 * redeliveries, duplicates and crashes: TaskStore.claim (libs/state/src/task-scripts.ts) lets a finished
 * task be acknowledged without running again, and the result is published under a deterministic
 * Nats-Msg-Id, so a task that did run twice (a crash after publishing, before finishing) still has one.
 * Framework-free; the Nest controller only hands messages in.
 */
export class TaskProcessor {
  private running = 0;

  constructor(private readonly deps: TaskProcessorDeps) {}

  async handle(msg: TaskDelivery): Promise<TaskSettlement> {
    const { tenant, agentId } = parseTaskRoute(msg.subject);
    const body = parseTaskBody(msg.data);
    const taskId = resolveTaskId({ tenant, bodyTaskId: body.taskId, msgId: msg.msgId, streamSeq: msg.streamSeq });
    return runWithTenant(tenant, async () => {
      const settlement = await this.process(msg, { tenant, agentId, taskId, input: body.input, apiKeyId: body.apiKeyId, userId: body.userId });
      this.deps.logger.debug('task settled', { taskId, agentId, settlement, delivery: msg.deliveryCount });
      return settlement;
    });
  }

  /**
   * A task whose last allowed attempt died with its process (the message came back past maxDeliver): it ends
   * failed, with a result that says so, unless an attempt did finish it. The runner dead-letters it after.
   */
  async giveUp(msg: TaskDelivery): Promise<'failed' | 'already-done'> {
    const { tenant, agentId } = parseTaskRoute(msg.subject);
    const body = parseTaskBody(msg.data);
    const taskId = resolveTaskId({ tenant, bodyTaskId: body.taskId, msgId: msg.msgId, streamSeq: msg.streamSeq });
    const view = await this.deps.tasks.get(tenant, taskId);
    if (view && TERMINAL_TASK_STATUSES.includes(view.status)) return 'already-done';
    const error = {
      code: ErrorCodes.attemptsExhausted,
      message: `no attempt finished within ${this.deps.consumer.maxDeliver} deliveries; the last one stopped with its process`,
    };
    await this.finish(tenant, taskId, agentId, view?.attempts ?? this.deps.consumer.maxDeliver, { error });
    const log = this.runLog(tenant, taskId, agentId, msg.deliveryCount, undefined);
    await log.failed(error);
    return 'failed';
  }

  /** The run log of one attempt of a task. */
  private runLog(tenant: string, taskId: string, agentId: string, attempt: number, apiKeyId?: string, from?: RunLogPosition): RunLog {
    return new RunLog(this.deps.publisher, {
      subject: Subjects.taskRun(tenant, taskId),
      tenant,
      runId: taskId,
      attempt,
      agentId,
      source: TASK_WORKER_SOURCE,
      ...(from ? { from } : {}),
      ...(this.deps.audit ? { audit: { sink: this.deps.audit, taskId, ...(apiKeyId ? { actor: { kind: 'api_key' as const, id: apiKeyId } } : {}) } } : {}),
    });
  }

  private async process(
    msg: TaskDelivery,
    task: { tenant: string; agentId: string; taskId: string; input: string; apiKeyId?: string | undefined; userId?: string | undefined },
  ): Promise<TaskSettlement> {
    const { tenant, agentId, taskId } = task;
    const { logger, consumer } = this.deps;
    const last = msg.deliveryCount >= consumer.maxDeliver;
    // The lease owner is the message, not the process: a retry of this message (after a failure here, or
    // the crash of the replica that ran it) must take the task up at once, on whichever replica it lands,
    // while a second message carrying the same task id waits for the first.
    const owner = `${msg.stream}:${msg.streamSeq}`;
    const claim = await this.deps.tasks.claim(tenant, taskId, agentId, owner, consumer.ackWaitMs);
    if (claim.kind === 'done') return 'already-done';
    if (claim.kind === 'busy') {
      if (!last) throw new DeferError(BUSY_RETRY_MS, `task ${taskId} is being run by another delivery`);
      // Its holder's message stays in the stream until that run ends, so the task still gets its result.
      logger.warn('duplicate task message dropped: another delivery still holds the task', { taskId, seq: msg.streamSeq });
      return 'held-elsewhere';
    }

    const log = this.runLog(tenant, taskId, agentId, msg.deliveryCount, task.apiKeyId);
    const pick = pickAgent(this.deps.agents, this.deps.rollouts, tenant, agentId, taskId);
    if (pick.kind === 'refused') {
      // A kill switch: a queued task ends failed now, with the switch's code, rather than run or wait.
      const error = refusalError(pick.error);
      await log.failed(error);
      await this.finish(tenant, taskId, agentId, claim.attempts, { error });
      return 'failed';
    }
    const agent = pick.kind === 'ok' ? pick.agent : undefined;
    const choice = pick.kind === 'ok' ? pick.choice : undefined;
    if (!agent) {
      // Retrying cannot make an agent appear; the task ends here, with a result that says why.
      const error = { code: ErrorCodes.agentNotFound, message: `no agent "${agentId}"` };
      await log.failed(error);
      await this.finish(tenant, taskId, agentId, claim.attempts, { error });
      return 'failed';
    }

    const scope = { tenant, ...(task.userId ? { userId: task.userId } : {}) };
    const guard = await this.deps.guard?.forRun(tenant, agentId, { taskId, runId: taskId });
    const screen = guard && ((text: string) => guard.checkInput(text, 'memory').allowed);
    const remembered = (await this.deps.memory?.contextFor(scope, agent, task.input, screen)) ?? [];
    const run = await this.run(agent, log, { messages: [...remembered, { role: 'user', content: task.input }] }, task.apiKeyId, task.userId, guard, choice);
    if ('paused' in run) {
      await this.pause(agent, log, run, task.apiKeyId, task.userId);
      return 'paused';
    }
    if (run.ok) {
      await this.finish(tenant, taskId, agentId, claim.attempts, { result: run.outcome });
      // Stored first, announced second: a reader who sees run.completed finds the task succeeded.
      await settleRunLog(log, run);
      await this.deps.memory?.remember(scope, agent, { userText: task.input }, `${tenant}:${taskId}:memory`);
      return 'succeeded';
    }
    // A budget refusal or a blocked input would only be refused again: the task ends now rather than spend its retries.
    if (!last && run.error.code !== ErrorCodes.budgetExceeded && run.error.code !== ErrorCodes.inputBlocked) {
      await settleRunLog(log, run);
      throw new AttemptFailedError(run.error);
    }
    // The last delivery: the task ends failed, with its result, and the message still goes to the
    // dead-letter stream (the runner dead-letters on this throw) for operators to inspect or replay.
    await this.finish(tenant, taskId, agentId, claim.attempts, { error: run.error });
    await settleRunLog(log, run);
    throw new Error(`task ${taskId} failed on its last attempt (${msg.deliveryCount} of ${consumer.maxDeliver}): ${run.error.message}`);
  }

  /**
   * A decision on a paused task (`keelson.approvals.{tenant}.{approvalId}`, from the gateway or a tenant's
   * publisher): decided in Redis (the first decision wins; past its timeout the approval counts as rejected),
   * then the run continues from its checkpoint on this replica, to its end or its next pause. A crash before
   * the message is acknowledged resumes it again on redelivery.
   */
  async handleApproval(msg: TaskDelivery): Promise<ApprovalSettlement> {
    const route = parseApprovalSubject(msg.subject);
    if (!route || !TENANT_ID_PATTERN.test(route.tenant)) {
      throw new PoisonMessageError(`not an approval subject: ${msg.subject}`, ErrorCodes.validationFailed);
    }
    let command;
    try {
      command = parseOrThrow(ApprovalCommandSchema, msg.data);
    } catch (err) {
      if (err instanceof KeelsonError) throw new PoisonMessageError(`invalid approval: ${err.message}`, err.code);
      throw err;
    }
    const { tenant, approvalId } = route;
    return runWithTenant(tenant, async () => {
      const approvals = this.deps.approvals;
      if (!approvals) return 'unknown-approval';
      await approvals.decide(tenant, approvalId, command.decision === 'approve', command.reason);
      const record = await approvals.get(tenant, approvalId);
      if (!record || record.status === 'pending') return 'unknown-approval';
      if (record.resumed) return 'already-done';
      const taskId = record.runId;
      const view = await this.deps.tasks.get(tenant, taskId);
      if (view && TERMINAL_TASK_STATUSES.includes(view.status)) {
        await approvals.markResumed(tenant, approvalId);
        return 'already-done';
      }
      const state = JSON.parse(record.state) as PausedTaskState;
      const log = this.runLog(tenant, taskId, record.agentId, record.attempt, state.apiKeyId, state.log);
      const attempts = view?.attempts ?? record.attempt;
      const pick = pickAgent(this.deps.agents, this.deps.rollouts, tenant, record.agentId, taskId);
      const agent = pick.kind === 'ok' ? pick.agent : undefined;
      if (!agent) {
        const error = pick.kind === 'refused' ? refusalError(pick.error) : { code: ErrorCodes.agentNotFound, message: `no agent "${record.agentId}"` };
        await this.finish(tenant, taskId, record.agentId, attempts, { error });
        await log.failed(error);
        await approvals.markResumed(tenant, approvalId);
        return 'failed';
      }
      const reason = record.expired ? 'the approval expired before anyone decided' : record.reason;
      const checkpoint: RunCheckpoint = {
        ...state.checkpoint,
        decisions: { ...state.checkpoint.decisions, [record.callId]: { approved: record.status === 'approved', ...(reason ? { reason } : {}) } },
      };
      const run = await this.run(agent, log, { resume: checkpoint }, state.apiKeyId, state.userId, await this.deps.guard?.forRun(tenant, agent.id, { taskId, runId: taskId }), pick.kind === 'ok' ? pick.choice : undefined);
      let settlement: ApprovalSettlement;
      if ('paused' in run) {
        await this.pause(agent, log, run, state.apiKeyId, state.userId);
        settlement = 'paused';
      } else {
        // A resumed run is not retried: it ends here, with its result, either way.
        await this.finish(tenant, taskId, record.agentId, attempts, run.ok ? { result: run.outcome } : { error: run.error });
        await settleRunLog(log, run);
        settlement = run.ok ? 'succeeded' : 'failed';
      }
      await approvals.markResumed(tenant, approvalId);
      this.deps.logger.debug('approval settled', { taskId, approvalId, settlement });
      return settlement;
    });
  }

  private async run(
    agent: AgentDefinition,
    log: RunLog,
    from: { messages: ChatMessage[] } | { resume: RunCheckpoint },
    apiKeyId: string | undefined,
    userId: string | undefined,
    guard?: RunGuard,
    choice?: VersionChoice,
  ): Promise<LoggedRunResult | PausedRunResult> {
    const { tenant, runId, attempt } = log.init;
    const account = { tenant, agentId: agent.id, runId, attempt, taskId: runId, ...(apiKeyId ? { apiKeyId } : {}) };
    const cost = tallyRunCost(this.deps.metering?.forRun(account));
    const metering = cost.metering;
    const opts = {
      agent,
      messages: 'messages' in from ? from.messages : [],
      providers: this.deps.providers,
      tools: this.deps.tools,
      log,
      ...(metering ? { metering } : {}),
      ...this.deps.routing?.forRun(account),
      ...(guard ? { guard } : {}),
    };
    // Without an approval store a run cannot wait: a call needing approval is then answered as an error.
    const go = () => (this.deps.approvals ? runLoggedPausable({ ...opts, ...('resume' in from ? { resume: from.resume } : {}) }) : runLogged(opts));
    // The memory_recall tool reads the task's user from this scope.
    const result = await this.counted(() => AgentMemory.withScope({ tenant, ...(userId ? { userId } : {}) }, go));
    // Each attempt's end counts for its version (a paused run counts when it ends).
    if (!('paused' in result) && (result.ok || countsAgainstVersion(result.error.code))) {
      await recordAgentRun(this.deps.rollouts, agent, choice, result.ok, cost.costMicroUsd());
    }
    return result;
  }

  /** Keeps keelson_task_runs_running at the number of runs this replica has under way. */
  private async counted<T>(work: () => Promise<T>): Promise<T> {
    const gauge = metricsRegistry().gauge('taskRunsRunning');
    gauge.set({}, ++this.running);
    try {
      return await work();
    } finally {
      gauge.set({}, --this.running);
    }
  }

  /** A run stopped for approval: its state stored under a stable approval id, then run.approval_required. */
  private async pause(agent: AgentDefinition, log: RunLog, run: PausedRunResult, apiKeyId: string | undefined, userId: string | undefined): Promise<void> {
    const approvals = this.deps.approvals;
    if (!approvals) throw new Error('a task paused for approval without an approval store'); // runs only pause with one
    const { tenant, runId, agentId, attempt } = log.init;
    const { call, checkpoint } = run.paused;
    const approvalId = approvalIdFor(runId, call.id);
    const state: PausedTaskState = { checkpoint, log: log.position(), ...(apiKeyId ? { apiKeyId } : {}), ...(userId ? { userId } : {}) };
    const saved = await approvals.savePending(
      tenant,
      approvalId,
      { runId, agentId, attempt, callId: call.id, toolName: call.name, state: JSON.stringify(state) },
      (agent.approval?.timeoutSeconds ?? 3600) * 1000,
    );
    await log.approvalRequired(call, approvalId, saved.expiresAt);
    this.deps.logger.info('task paused for approval', { taskId: runId, approvalId, tool: call.name });
  }

  /** The one result first, then the record: a crash in between re-runs the task, and the result is de-duplicated. */
  private async finish(tenant: string, taskId: string, agentId: string, attempts: number, end: TaskEnd): Promise<void> {
    const result = buildTaskResult(taskId, agentId, attempts, end);
    await this.deps.publisher.publish(Subjects.result(tenant, agentId, taskId), resultEvent(tenant, result), {
      msgId: resultId(tenant, taskId),
    });
    // Before the store's finish: a retry after a failure here finds the task unfinished and records it again
    // (the same id, stored once); after finish, a retry would see the task done and record nothing.
    await this.deps.audit?.record({
      id: `task:${taskId}:end`,
      tenant,
      type: 'error' in end ? AuditTypes.taskFailed : AuditTypes.taskCompleted,
      taskId,
      runId: taskId,
      agentId,
      data: 'error' in end ? { attempts, code: end.error.code, message: end.error.message } : { attempts, finishReason: end.result.finishReason, usage: end.result.usage },
    });
    await this.deps.tasks.finish(tenant, taskId, end);
  }
}

/** Tenant and agent come from the subject, so a publisher's subject permissions are its whole authority. */
export function parseTaskRoute(subject: string): { tenant: string; agentId: string } {
  const route = parseTaskSubject(subject);
  if (!route) throw new PoisonMessageError(`not a task subject: ${subject}`, ErrorCodes.validationFailed);
  if (!TENANT_ID_PATTERN.test(route.tenant)) {
    throw new PoisonMessageError(`invalid task subject: "${route.tenant}" is not a tenant id`, ErrorCodes.validationFailed);
  }
  return route;
}

export function parseTaskBody(data: unknown): TaskMessage {
  try {
    return parseOrThrow(TaskMessageSchema, data);
  } catch (err) {
    if (err instanceof KeelsonError) throw new PoisonMessageError(`invalid task: ${err.message}`, err.code);
    throw err;
  }
}
