import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { TENANT_ID_PATTERN } from './ids';

/**
 * Every event Keelson emits is a CloudEvents 1.0 structured-mode JSON envelope.
 * Extension attributes (lowercase alphanumerics, per the spec): `tenantid`, and the
 * Distributed Tracing extension's `traceparent` / `tracestate`.
 */
export const CloudEventSchema = z.object({
  specversion: z.literal('1.0'),
  id: z.string().min(1),
  source: z.string().min(1),
  type: z.string().min(1),
  subject: z.string().optional(),
  time: z.string().datetime({ offset: true }),
  datacontenttype: z.literal('application/json'),
  tenantid: z.string().regex(TENANT_ID_PATTERN),
  traceparent: z.string().optional(),
  tracestate: z.string().optional(),
  data: z.unknown(),
});

export type CloudEvent<T = unknown> = Omit<z.infer<typeof CloudEventSchema>, 'data'> & { data: T };

export interface EventInit<T> {
  type: string;
  source: string;
  tenant: string;
  data: T;
  subject?: string;
  id?: string;
  traceparent?: string;
  tracestate?: string;
}

export function createEvent<T>(init: EventInit<T>): CloudEvent<T> {
  const event: CloudEvent<T> = {
    specversion: '1.0',
    id: init.id ?? randomUUID(),
    source: init.source,
    type: init.type,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    tenantid: init.tenant,
    data: init.data,
  };
  if (init.subject !== undefined) event.subject = init.subject;
  if (init.traceparent !== undefined) event.traceparent = init.traceparent;
  if (init.tracestate !== undefined) event.tracestate = init.tracestate;
  return event;
}

/**
 * Event types carry a version, so a consumer can tell a v2 payload from a v1 one. Commands (a task, a
 * session turn) are plain JSON on their subjects; what Keelson reports back is one of these events.
 */
export const EventTypes = {
  taskCompleted: 'dev.keelson.task.completed.v1',
  taskFailed: 'dev.keelson.task.failed.v1',
  runStarted: 'dev.keelson.run.started.v1',
  runDelta: 'dev.keelson.run.delta.v1',
  runToolCall: 'dev.keelson.run.tool_call.v1',
  runToolResult: 'dev.keelson.run.tool_result.v1',
  runApprovalRequired: 'dev.keelson.run.approval_required.v1',
  runRouted: 'dev.keelson.run.routed.v1',
  runCompleted: 'dev.keelson.run.completed.v1',
  runFailed: 'dev.keelson.run.failed.v1',
  sessionPolicy: 'dev.keelson.session.policy.v1',
} as const;
