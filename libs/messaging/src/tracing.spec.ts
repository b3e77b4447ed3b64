import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { extractTraceContext, injectTraceContext } from './tracing';

describe('W3C trace context without an SDK', () => {
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

  it('extracts a remote parent from traceparent and tracestate, whatever the header case', () => {
    const ctx = extractTraceContext({ Traceparent: traceparent, tracestate: 'vendor=x' });
    const sc = trace.getSpanContext(ctx);
    assert.equal(sc?.traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(sc?.spanId, 'b7ad6b7169203331');
    assert.equal(sc?.traceFlags, TraceFlags.SAMPLED);
    assert.equal(sc?.isRemote, true);
    assert.equal(sc?.traceState?.get('vendor'), 'x');
  });

  it('passes an extracted context on unchanged, so a hop without an SDK keeps the trace', () => {
    const carrier: Record<string, string> = {};
    injectTraceContext(carrier, extractTraceContext({ traceparent, tracestate: 'vendor=x' }));
    assert.equal(carrier.traceparent, traceparent);
    assert.equal(carrier.tracestate, 'vendor=x');
  });

  it('ignores malformed or all-zero traceparents and writes nothing without a span', () => {
    assert.equal(trace.getSpanContext(extractTraceContext({ traceparent: 'garbage' })), undefined);
    assert.equal(trace.getSpanContext(extractTraceContext({ traceparent: `00-${'0'.repeat(32)}-b7ad6b7169203331-01` })), undefined);
    const carrier: Record<string, string> = {};
    injectTraceContext(carrier, ROOT_CONTEXT);
    assert.deepEqual(carrier, {});
  });
});
