import { context, propagation, type Context, type TextMapGetter } from '@opentelemetry/api';

/**
 * Returns a copy of `headers` with the active trace context added (`traceparent`, `tracestate`), for an
 * outgoing HTTP or SSE request. Uses the global propagator, which startTracing sets to W3C trace-context.
 */
export function injectTraceContext(headers: Record<string, string>): Record<string, string> {
  const out = { ...headers };
  propagation.inject(context.active(), out);
  return out;
}

// HTTP header names are case-insensitive; a proxy may well send `Traceparent`.
const caseInsensitiveGetter: TextMapGetter<Record<string, string>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const wanted = key.toLowerCase();
    const found = Object.keys(carrier).find((name) => name.toLowerCase() === wanted);
    return found === undefined ? undefined : carrier[found];
  },
};

/** The context an incoming request's headers carry, to start its span under: `context.with(ctx, ...)`. */
export function extractTraceContext(headers: Record<string, string>): Context {
  return propagation.extract(context.active(), headers, caseInsensitiveGetter);
}
