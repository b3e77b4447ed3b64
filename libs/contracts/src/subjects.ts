import { z } from 'zod';
/**
 * Every NATS subject Keelson uses is built and parsed here, and nowhere else.
 * Tokens come from validated ids (see ids.ts), so a subject never gains or loses a token.
 */
export const SUBJECT_ROOT = 'keelson';

export const Subjects = {
  /** Async tasks, published by the gateway or straight onto NATS by a tenant's own publisher. */
  task: (tenant: string, agentId: string) => `keelson.tasks.${tenant}.${agentId}`,
  allTasks: 'keelson.tasks.>',
  /** The one final result of a task; a JetStream stream keeps them for replay. */
  result: (tenant: string, agentId: string, taskId: string) =>
    `keelson.results.${tenant}.${agentId}.${taskId}`,
  allResults: 'keelson.results.>',
  tenantResults: (tenant: string) => `keelson.results.${tenant}.>`,
  /** A turn of a stateful session, queued for the session's owner. */
  sessionTurn: (tenant: string, sessionId: string) => `keelson.sessions.turns.${tenant}.${sessionId}`,
  allSessionTurns: 'keelson.sessions.turns.>',
  /**
   * Core NATS (no stream): the gateway asks the session-agent running a session's turn to cancel every turn
   * before `beforeTurn` (the `interrupt` policy). The Redis mark is the durable record; this is the fast path.
   */
  sessionCancel: (tenant: string, sessionId: string) => `keelson.sessions.cancel.${tenant}.${sessionId}`,
  allSessionCancels: 'keelson.sessions.cancel.>',
  /** Core NATS: a `steer` message offered to whichever session-agent runs the session's turn (SessionSteerSchema). */
  sessionSteer: (tenant: string, sessionId: string) => `keelson.sessions.steer.${tenant}.${sessionId}`,
  allSessionSteers: 'keelson.sessions.steer.>',
  /** The run log: the events of one task run or one session turn, in order. */
  taskRun: (tenant: string, taskId: string) => `keelson.runs.${tenant}.tasks.${taskId}`,
  sessionRun: (tenant: string, sessionId: string, turn: number) =>
    `keelson.runs.${tenant}.sessions.${sessionId}.${turn}`,
  /** Every turn's events of one session: the filter a session stream is replayed and followed with. */
  sessionRuns: (tenant: string, sessionId: string) => `keelson.runs.${tenant}.sessions.${sessionId}.>`,
  /** The events of one streamed stateless invocation (the invoke RPC with a `runId`). */
  invokeRun: (tenant: string, runId: string) => `keelson.runs.${tenant}.invokes.${runId}`,
  allRuns: 'keelson.runs.>',
  /** A human's decision on a paused run's tool call (ApprovalCommandSchema); any task-worker resumes the run. */
  approval: (tenant: string, approvalId: string) => `keelson.approvals.${tenant}.${approvalId}`,
  allApprovals: 'keelson.approvals.>',
  /** Messages that were given up on, with the reason, for operators to inspect and replay. */
  deadLetter: (stream: string) => `keelson.dlq.${stream.toLowerCase()}`,
  allDeadLetters: 'keelson.dlq.>',
  /** Core NATS request-reply for callers who wait (no JetStream persistence). */
  invokeRpc: 'keelson.rpc.agents.invoke',
  /** Core NATS, to every agent runtime: abort the invoke whose `cancelId` this is (its caller went away). */
  invokeCancel: (tenant: string, cancelId: string) => `keelson.rpc.agents.cancel.${tenant}.${cancelId}`,
  allInvokeCancels: 'keelson.rpc.agents.cancel.>',
  /**
   * Core NATS, to every service: `{"level": "debug"}` changes the log level at run time, of every replica, or
   * with `"service"` only of that service's replicas (LogLevelCommandSchema). Operators only (issue 9 limits
   * who may publish here).
   */
  logLevel: 'keelson.control.log-level',
  /**
   * Core NATS, gateway to gateway: `{"keyId"}` of an API key just revoked (or rotated without grace). Every
   * replica forgets its cached verification of it at once; the key store in Redis is the durable record.
   */
  apiKeyRevoked: 'keelson.control.api-key-revoked',
} as const;

/** Queue groups make replicas of one service share core-NATS requests. */
export const QueueGroups = {
  agents: 'keelson-agents',
} as const;

export interface TaskSubject {
  tenant: string;
  agentId: string;
}

export function parseTaskSubject(subject: string): TaskSubject | undefined {
  const parts = subject.split('.');
  if (parts.length !== 4 || parts[0] !== SUBJECT_ROOT || parts[1] !== 'tasks') return undefined;
  return { tenant: parts[2]!, agentId: parts[3]! };
}

export interface SessionTurnSubject {
  tenant: string;
  sessionId: string;
}

export function parseSessionTurnSubject(subject: string): SessionTurnSubject | undefined {
  return parseSessionSubject(subject, 'turns');
}

export function parseSessionCancelSubject(subject: string): SessionTurnSubject | undefined {
  return parseSessionSubject(subject, 'cancel');
}

export function parseSessionSteerSubject(subject: string): SessionTurnSubject | undefined {
  return parseSessionSubject(subject, 'steer');
}

function parseSessionSubject(subject: string, kind: string): SessionTurnSubject | undefined {
  const parts = subject.split('.');
  if (parts.length !== 5 || parts[0] !== SUBJECT_ROOT || parts[1] !== 'sessions' || parts[2] !== kind) return undefined;
  return { tenant: parts[3]!, sessionId: parts[4]! };
}

/** Tenant and approval id of an approval subject, or undefined when it is not one. */
export function parseApprovalSubject(subject: string): { tenant: string; approvalId: string } | undefined {
  const parts = subject.split('.');
  if (parts.length !== 4 || parts[0] !== SUBJECT_ROOT || parts[1] !== 'approvals') return undefined;
  return { tenant: parts[2]!, approvalId: parts[3]! };
}

/** Tenant and cancel id of an invoke-cancel subject, or undefined when it is not one. */
export function parseInvokeCancelSubject(subject: string): { tenant: string; cancelId: string } | undefined {
  const parts = subject.split('.');
  if (parts.length !== 6 || parts[0] !== SUBJECT_ROOT || parts[1] !== 'rpc' || parts[2] !== 'agents' || parts[3] !== 'cancel') return undefined;
  return { tenant: parts[4]!, cancelId: parts[5]! };
}

/** The command on Subjects.logLevel. */
export const LogLevelCommandSchema = z
  .object({
    level: z.enum(['error', 'warn', 'info', 'debug']),
    /** Only replicas of this service (its SERVICE_NAME); every service when absent. */
    service: z.string().min(1).max(64).optional(),
  })
  .strict();
export type LogLevelCommand = z.infer<typeof LogLevelCommandSchema>;
