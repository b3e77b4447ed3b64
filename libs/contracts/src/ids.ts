import { createHash, randomUUID } from 'node:crypto';

/**
 * Identifiers travel inside NATS subject tokens, so they may never hold `.`, `*`, `>` or whitespace.
 * One pattern for each keeps every subject parseable.
 */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const AGENT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const RESOURCE_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
/** The end user a session, task or invoke acts for (the tenant's own id for them): memories are kept per user. */
export const USER_ID_PATTERN = RESOURCE_ID_PATTERN;
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,200}$/;

export function newTaskId(): string {
  return `tsk_${randomUUID().replace(/-/g, '')}`;
}

export function newSessionId(): string {
  return `ses_${randomUUID().replace(/-/g, '')}`;
}

/**
 * The task id of an idempotent submission is a pure function of tenant and key, so HTTP callers and
 * NATS publishers who use the same key arrive at the same task without asking anyone.
 */
export function taskIdForKey(tenant: string, idempotencyKey: string): string {
  const digest = createHash('sha256').update(`${tenant}\n${idempotencyKey}`).digest('hex');
  return `tsk_${digest.slice(0, 32)}`;
}

/** The Nats-Msg-Id of a task: tenant-scoped, because JetStream de-duplicates per stream, not per subject. */
export function taskMsgId(tenant: string, idempotencyKey: string): string {
  return `${tenant}:${idempotencyKey}`;
}

/** Splits a task's Nats-Msg-Id into tenant and key; undefined when it does not follow `{tenant}:{key}`. */
export function parseTaskMsgId(msgId: string): { tenant: string; key: string } | undefined {
  const colon = msgId.indexOf(':');
  if (colon <= 0 || colon === msgId.length - 1) return undefined;
  return { tenant: msgId.slice(0, colon), key: msgId.slice(colon + 1) };
}
