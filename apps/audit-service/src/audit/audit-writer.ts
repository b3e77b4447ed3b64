import { AuditEventSchema, auditCategoryOf, parseAuditSubject, TENANT_ID_PATTERN, type AuditEvent, type AuditRecord } from '@keelson/contracts';
import type { AppendResult } from '@keelson/audit';
import { PoisonMessageError, type InboundMessage } from '@keelson/messaging';

export interface AuditWriterDeps {
  ingest: { submit(event: AuditEvent): Promise<AppendResult> };
  /** Runs after the record is stored, for a duplicate too (an earlier delivery may have stopped before it). */
  afterStore?: (record: AuditRecord) => Promise<void>;
  /** Told of each malformed event before it is dead-lettered. */
  onRejected: (reason: string) => void;
}

/**
 * One event from `keelson.audit.{tenant}.{category}`: resolving acknowledges it, so it resolves only once
 * the record is stored (and its follow-up done). A malformed event is poison: dead-lettered with the
 * reason and counted, never retried, never blocking the events behind it. A store failure throws, and the
 * runner naks; the redelivery finds the event stored (a duplicate) if the write did land.
 */
export async function handleAuditMessage(message: InboundMessage, deps: AuditWriterDeps): Promise<AppendResult> {
  const subject = parseAuditSubject(message.subject);
  if (!subject || !TENANT_ID_PATTERN.test(subject.tenant)) reject(deps, `not an audit subject: ${message.subject}`);
  const parsed = AuditEventSchema.safeParse(message.data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    reject(deps, `invalid audit event: ${issue.path.join('.') || '(body)'}: ${issue.message}`);
  }
  const event = parsed.data;
  if (event.tenant !== subject.tenant) reject(deps, `audit event of tenant "${event.tenant}" published under tenant "${subject.tenant}"`);
  if (auditCategoryOf(event.type) !== subject.category) reject(deps, `audit event ${event.type} published under category "${subject.category}"`);
  const result = await deps.ingest.submit(event);
  await deps.afterStore?.(result.record);
  return result;
}

function reject(deps: AuditWriterDeps, reason: string): never {
  deps.onRejected(reason);
  throw new PoisonMessageError(reason, 'validation_failed');
}
