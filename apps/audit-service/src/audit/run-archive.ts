import { AuditTypes, Streams, Subjects, type AuditRecord, type AuditRef } from '@keelson/contracts';
import type { AuditSink } from '@keelson/audit';
import { decodeJson } from '@keelson/messaging';
import type { Archiver } from '@keelson/object-store';
import { AckPolicy, DeliverPolicy, nanos, nuid, type NatsConnection } from 'nats';

/** The ends that archive a transcript: a closed session and a finished task. */
const ARCHIVED_ON: Record<string, 'session' | 'task' | undefined> = {
  [AuditTypes.sessionClosed]: 'session',
  [AuditTypes.taskCompleted]: 'task',
  [AuditTypes.taskFailed]: 'task',
};

const READ_TIMEOUT_MS = 10_000;
/** Only a crashed reader leaves its consumer behind; the server removes it this long after. */
const INACTIVE_THRESHOLD_MS = 60_000;

/**
 * Archives the run log of a session when it closes and of a task when it ends, as JSON lines in the tenant's
 * regional `archives` bucket (`{tenant}/sessions/{id}.jsonl`, `{tenant}/tasks/{id}.jsonl`), then records a
 * `session.archived` / `task.archived` audit event holding the reference. Both steps are idempotent (the key
 * and the event id follow from the session or task), so the redelivery after a failure simply repeats them.
 */
export class RunArchive {
  constructor(
    private readonly nats: NatsConnection,
    private readonly archiver: Pick<Archiver, 'archiveJsonl'>,
    private readonly audit: AuditSink,
  ) {}

  async afterStore(record: AuditRecord): Promise<void> {
    const kind = ARCHIVED_ON[record.type];
    if (kind === 'session' && record.sessionId) await this.archive(record, 'session', record.sessionId, Subjects.sessionRuns(record.tenant, record.sessionId));
    if (kind === 'task' && record.taskId) await this.archive(record, 'task', record.taskId, Subjects.taskRun(record.tenant, record.taskId));
  }

  private async archive(record: AuditRecord, kind: 'session' | 'task', id: string, filter: string): Promise<void> {
    const events = await readAll(this.nats, filter);
    const ref: AuditRef = await this.archiver.archiveJsonl(record.tenant, 'archives', `${kind}s/${id}.jsonl`, events, 'transcript');
    await this.audit.record({
      id: `archive:${kind}:${id}`,
      tenant: record.tenant,
      type: kind === 'session' ? AuditTypes.sessionArchived : AuditTypes.taskArchived,
      ...(kind === 'session' ? { sessionId: id } : { taskId: id, runId: id }),
      ...(record.agentId ? { agentId: record.agentId } : {}),
      data: { events: events.length, archivedFrom: record.id },
      refs: [ref],
    });
  }
}

/**
 * Every event on the run log under `filter`, in order; nothing when the log has none (aged out or never run).
 * One consumer of its own, whose creation says how many events there are, deleted after the read: the server
 * checks every consumer of a stream against each new message, so one left behind per finished task (a
 * nats.js ordered consumer lingers 5 min) made every run-log publish dearer under load (docs/benchmarks.md).
 */
async function readAll(nats: NatsConnection, filter: string): Promise<unknown[]> {
  const stream = Streams.runs.name;
  const name = `archive_${nuid.next()}`;
  const jsm = await nats.jetstreamManager({ checkAPI: false });
  const created = await jsm.consumers.add(stream, {
    name,
    filter_subject: filter,
    deliver_policy: DeliverPolicy.All,
    ack_policy: AckPolicy.None,
    mem_storage: true,
    num_replicas: 1,
    inactive_threshold: nanos(INACTIVE_THRESHOLD_MS),
  });
  try {
    const total = created.num_pending;
    if (total === 0) return [];
    const messages = await (await nats.jetstream().consumers.get(stream, name)).consume({ max_messages: 256 });
    const timer = setTimeout(() => messages.stop(), READ_TIMEOUT_MS);
    const events: unknown[] = [];
    try {
      for await (const message of messages) {
        events.push(decodeJson(message.data));
        if (events.length >= total) break;
      }
    } finally {
      clearTimeout(timer);
      messages.stop();
    }
    if (events.length < total) throw new Error(`run log ${filter}: read ${events.length} of ${total} events before the timeout`);
    return events;
  } finally {
    await jsm.consumers.delete(stream, name).catch(() => undefined);
  }
}
