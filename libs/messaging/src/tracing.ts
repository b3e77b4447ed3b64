import {
  context,
  createTraceState,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';
import { Headers } from '@keelson/contracts';
import { getHeader } from './headers';

/**
 * W3C trace context over NATS headers, and the spans of the messaging conventions:
 * `send {template}` (PRODUCER / CLIENT) and `process {template}` (CONSUMER / SERVER),
 * messaging.system = "nats". With no OpenTelemetry SDK registered every call here is a cheap no-op,
 * except that an incoming traceparent is still passed on to outgoing messages.
 */
export const tracer = trace.getTracer('@keelson/messaging');

export { SpanKind };

export const MessagingAttributes = {
  system: 'messaging.system',
  destination: 'messaging.destination.name',
  destinationTemplate: 'messaging.destination.template',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  messageId: 'messaging.message.id',
  bodySize: 'messaging.message.body.size',
  consumerGroup: 'messaging.consumer.group.name',
  stream: 'messaging.nats.stream',
  streamSequence: 'messaging.nats.stream.sequence',
  deliveryCount: 'messaging.nats.delivery_count',
  duplicate: 'messaging.nats.duplicate',
  outcome: 'keelson.messaging.outcome',
} as const;

const getter: TextMapGetter<Record<string, string>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => getHeader(carrier, key),
};

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * Writes traceparent/tracestate (and whatever else the registered propagator carries, e.g. baggage) of
 * `ctx` into `carrier`. Falls back to plain W3C when no propagator is registered, so the trace survives a
 * hop through a service that has no SDK.
 */
export function injectTraceContext(carrier: Record<string, string>, ctx: Context = context.active()): void {
  const before = getHeader(carrier, Headers.traceparent);
  propagation.inject(ctx, carrier);
  const after = getHeader(carrier, Headers.traceparent);
  if (after !== undefined && after !== before) return; // the registered propagator did it
  const sc = trace.getSpanContext(ctx);
  if (!sc || !isSpanContextValid(sc)) return;
  carrier[Headers.traceparent] = `00-${sc.traceId}-${sc.spanId}-0${(sc.traceFlags & TraceFlags.SAMPLED).toString(16)}`;
  const state = sc.traceState?.serialize();
  if (state) carrier[Headers.tracestate] = state;
}

/** The remote parent carried in `carrier`, on top of ROOT_CONTEXT (a handler does not inherit the poller's context). */
export function extractTraceContext(carrier: Record<string, string>, base: Context = ROOT_CONTEXT): Context {
  const ctx = propagation.extract(base, carrier, getter);
  if (trace.getSpanContext(ctx)) return ctx;
  const match = TRACEPARENT.exec(getHeader(carrier, Headers.traceparent)?.trim() ?? '');
  if (!match || match[1] === 'ff') return ctx;
  const spanContext = {
    traceId: match[2]!,
    spanId: match[3]!,
    traceFlags: parseInt(match[4]!, 16) & TraceFlags.SAMPLED,
    isRemote: true,
    ...(getHeader(carrier, Headers.tracestate) ? { traceState: createTraceState(getHeader(carrier, Headers.tracestate)) } : {}),
  };
  return isSpanContextValid(spanContext) ? trace.setSpanContext(ctx, spanContext) : ctx;
}

/** Runs `fn` inside a new active span and ends it; an exception marks the span failed and propagates. */
export async function withSpan<T>(
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  parent: Context | undefined,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan(name, { kind, attributes }, parent ?? context.active(), async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      markFailed(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

export function markFailed(span: Span, err: unknown): void {
  if (err instanceof Error) span.recordException(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}
