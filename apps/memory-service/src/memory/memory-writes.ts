import { createHash } from 'node:crypto';
import { MemoryWriteMessageSchema, TENANT_ID_PATTERN, parseMemoryWriteSubject, type MemoryItemResult } from '@keelson/contracts';
import { PoisonMessageError, type InboundMessage, type MessagingLogger } from '@keelson/messaging';
import type { MemoryService } from '@keelson/memory';
import { runWithTenant } from '@keelson/observability';

/** Failures worth another delivery: the store or the embedder was down. Validation failures are not. */
const RETRYABLE = new Set(['unavailable', 'embeddings_unavailable', 'internal_error']);

/**
 * One asynchronous write from `keelson.memory.writes.{tenant}`. Resolving acknowledges it. A malformed
 * message is poison (dead-lettered, never retried); items that fail validation are logged and dropped;
 * a store or embedder outage throws, so the runner naks and the message comes back. Items without an id
 * get one derived from the message (its Nats-Msg-Id, else its stream sequence) and position, so a
 * redelivery replaces what an earlier attempt stored instead of adding copies.
 */
export async function handleMemoryWrite(memory: MemoryService, message: InboundMessage, logger: MessagingLogger): Promise<void> {
  const subject = parseMemoryWriteSubject(message.subject);
  if (!subject) throw new PoisonMessageError(`not a memory write subject: ${message.subject}`);
  if (!TENANT_ID_PATTERN.test(subject.tenant)) throw new PoisonMessageError(`invalid tenant in subject: ${subject.tenant}`, 'validation_failed');
  const parsed = MemoryWriteMessageSchema.safeParse(message.data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PoisonMessageError(`invalid memory write: ${issue.path.join('.') || '(body)'}: ${issue.message}`, 'validation_failed');
  }
  const write = parsed.data;
  const { tenant } = subject;
  await runWithTenant(tenant, async () => {
    let results: MemoryItemResult[];
    if (write.type === 'turn') {
      results = await memory.rememberTurn(tenant, write.userId, { userText: write.userText }, {
        ...(write.sessionId ? { sessionId: write.sessionId } : {}),
        ...(write.agentId ? { agentId: write.agentId } : {}),
      });
    } else {
      const origin = message.msgId ?? `${message.stream}:${message.streamSeq}`;
      const items = write.items.map((item, i) =>
        item && typeof item === 'object' && !('id' in item) ? { ...item, id: derivedId(tenant, origin, i) } : item,
      );
      results = await memory.upsert(tenant, items);
    }
    const failed = results.filter((r) => !r.ok);
    const retry = failed.find((r) => !r.ok && RETRYABLE.has(r.code));
    if (retry && !retry.ok) throw new Error(`memory write not stored, will retry: ${retry.message}`);
    for (const f of failed) if (!f.ok) logger.warn('memory write item refused', { tenant, index: f.index, code: f.code, field: f.field, message: f.message });
  });
}

const derivedId = (tenant: string, origin: string, index: number): string =>
  `mem_${createHash('sha256').update(`${tenant}\n${origin}\n${index}`).digest('hex').slice(0, 32)}`;
