import { createHash, randomUUID } from 'node:crypto';
import {
  AuditEventSchema,
  AuditSubjects,
  AuditTypes,
  auditCategoryOf,
  MAX_AUDIT_EVENT_BYTES,
  type AuditActor,
  type AuditEvent,
  type AuditRef,
  type GuardDecision,
} from '@keelson/contracts';
import { trace } from '@opentelemetry/api';

/** The slice of JetStreamPublisher the trail needs (a resolved publish means the stream stored it). */
export interface AuditPublisher {
  publish(subject: string, payload: unknown, options?: { msgId?: string }): Promise<unknown>;
}

/** Where payloads above the inline limit go (PayloadOffloader of @keelson/object-store fits). */
export interface PayloadSink {
  maybeOffload(tenant: string, kind: string, content: string): Promise<{ inline: string } | { ref: AuditRef }>;
}

/** A large text that belongs to the event: kept inline when small, else offloaded and referenced. */
export interface AuditPayload {
  /** `tool_result`, `reply`, `model_input`, ...: the data field (inline) or the ref's kind (offloaded). */
  kind: string;
  content: string;
}

/** What a caller says about an occurrence; the trail adds time, service, trace and span. */
export interface AuditDraft {
  /** Stable for the occurrence, so a retried publish or a redelivered run is stored once. */
  id: string;
  tenant: string;
  type: string;
  actor?: AuditActor;
  sessionId?: string;
  taskId?: string;
  runId?: string;
  agentId?: string;
  data?: Record<string, unknown>;
  payloads?: AuditPayload[];
  /** Objects already in object storage (an archive) that the event points to. */
  refs?: AuditRef[];
}

/** Records audit events; the one interface every service's code depends on. */
export interface AuditSink {
  record(draft: AuditDraft): Promise<void>;
}

export interface AuditTrailOptions {
  /** The publishing service's name, e.g. `task-worker`. */
  service: string;
  /** Without it, a payload above `inlineLimitBytes` is kept as its digest, size and a short preview. */
  payloads?: PayloadSink;
  /** Bytes of UTF-8 a payload may take inline; default 4 096. */
  inlineLimitBytes?: number;
  /**
   * Scrubs PII and secrets from a payload that goes to object storage, which audit-service never sees
   * (guard's output filter). Inline text is scrubbed by audit-service before it is stored, off the hot path.
   */
  redact?: (tenant: string, text: string) => string;
  /**
   * Each recorded event is also one structured log line (`audit event`, with its id, type and run ids), so
   * a reasoning step in the logs joins its trace (the line's trace_id) and its audit record (`audit_id`).
   */
  logger?: { info(message: string, meta?: object): void };
}

const PREVIEW_CHARS = 256;

/**
 * Publishes audit events onto KEELSON_AUDIT (`keelson.audit.{tenant}.{category}`), the tenant-qualified
 * event id as Nats-Msg-Id so a re-publish within the stream's window is dropped (audit-service also
 * de-duplicates by id for good). A resolved record() means the stream stored the event; a rejected one is
 * the caller's to handle like any failed publish on its path (the run is retried, the request fails).
 */
export class AuditTrail implements AuditSink {
  private readonly inlineLimit: number;

  constructor(
    private readonly publisher: AuditPublisher,
    private readonly options: AuditTrailOptions,
  ) {
    this.inlineLimit = options.inlineLimitBytes ?? 4_096;
  }

  async record(draft: AuditDraft): Promise<void> {
    const event = await this.build(draft);
    const category = auditCategoryOf(event.type)!;
    await this.publisher.publish(AuditSubjects.event(event.tenant, category), event, { msgId: `${event.tenant}:${event.id}` });
    this.options.logger?.info('audit event', {
      audit_id: event.id,
      audit_type: event.type,
      tenant: event.tenant,
      ...(event.runId ? { runId: event.runId } : {}),
      ...(event.sessionId ? { sessionId: event.sessionId } : {}),
      ...(event.taskId ? { taskId: event.taskId } : {}),
      ...(event.agentId ? { agentId: event.agentId } : {}),
    });
  }

  /** The event as it goes on the stream; throws a ZodError for a draft that breaks the contract. */
  async build(draft: AuditDraft): Promise<AuditEvent> {
    const span = trace.getActiveSpan()?.spanContext();
    const data: Record<string, unknown> = { ...draft.data };
    const refs: AuditRef[] = [...(draft.refs ?? [])];
    for (const payload of draft.payloads ?? []) {
      const kept = await this.keep(draft.tenant, payload);
      if ('ref' in kept) refs.push(kept.ref);
      else data[payload.kind] = kept.value;
    }
    const event = AuditEventSchema.parse({
      id: draft.id,
      tenant: draft.tenant,
      type: draft.type,
      time: new Date().toISOString(),
      service: this.options.service,
      actor: draft.actor ?? { kind: 'service', id: this.options.service },
      ...(span && isValidTrace(span.traceId) ? { traceId: span.traceId, spanId: span.spanId } : {}),
      ...definedIds(draft),
      data,
      refs,
    });
    const bytes = Buffer.byteLength(JSON.stringify(event));
    if (bytes > MAX_AUDIT_EVENT_BYTES) {
      throw new RangeError(`audit event ${draft.type} is ${bytes} bytes, over ${MAX_AUDIT_EVENT_BYTES}: move large fields to payloads`);
    }
    return event;
  }

  private async keep(tenant: string, payload: AuditPayload): Promise<{ value: unknown } | { ref: AuditRef }> {
    if (Buffer.byteLength(payload.content) <= this.inlineLimit) return { value: payload.content };
    const text = this.options.redact ? this.options.redact(tenant, payload.content) : payload.content;
    const bytes = Buffer.byteLength(text);
    if (bytes <= this.inlineLimit) return { value: text };
    if (this.options.payloads) {
      const kept = await this.options.payloads.maybeOffload(tenant, payload.kind, text);
      return 'ref' in kept ? { ref: kept.ref } : { value: kept.inline };
    }
    // No object storage configured: the digest still proves what the payload was, if it turns up elsewhere.
    const sha256 = createHash('sha256').update(text).digest('hex');
    return { value: { offloaded: false, bytes, sha256, preview: text.slice(0, PREVIEW_CHARS) } };
  }
}

function isValidTrace(traceId: string): boolean {
  return traceId !== '00000000000000000000000000000000';
}

function definedIds(draft: AuditDraft): Partial<AuditEvent> {
  const out: Partial<AuditEvent> = {};
  if (draft.sessionId) out.sessionId = draft.sessionId;
  if (draft.taskId) out.taskId = draft.taskId;
  if (draft.runId) out.runId = draft.runId;
  if (draft.agentId) out.agentId = draft.agentId;
  return out;
}

/** A guard decision as an audit event: its reasons and counts, never the text or a matched value. */
export function guardDecisionDraft(decision: GuardDecision, ids: Pick<AuditDraft, 'sessionId' | 'taskId' | 'runId'> = {}): AuditDraft {
  const { tenant, agentId, at: _at, ...data } = decision;
  return { id: `guard:${randomUUID()}`, tenant, type: AuditTypes.guardDecision, ...(agentId ? { agentId } : {}), ...ids, data };
}
