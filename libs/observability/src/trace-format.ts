import { isSpanContextValid, trace } from '@opentelemetry/api';
import { format } from 'winston';
import { currentTenant } from './tenant-context';

/**
 * Adds `trace_id` and `span_id` of the span active where the log call is made, so a log line can be found
 * from its trace and back. Formats run synchronously inside `logger.info(...)`, hence in the caller's context.
 */
export const traceContextFormat = format((info) => {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (spanContext && isSpanContextValid(spanContext)) {
    info['trace_id'] = spanContext.traceId;
    info['span_id'] = spanContext.spanId;
  }
  return info;
});

/** Adds `tenant` when the call runs inside runWithTenant(). */
export const tenantFormat = format((info) => {
  const tenant = currentTenant();
  if (tenant !== undefined) info['tenant'] = tenant;
  return info;
});
