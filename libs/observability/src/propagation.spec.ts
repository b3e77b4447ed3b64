import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { extractTraceContext, injectTraceContext } from './propagation';

describe('trace context over HTTP headers', () => {
  before(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(new BasicTracerProvider());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });

  it('round-trips the active span through inject and extract', () => {
    const span = trace.getTracer('test').startSpan('outgoing');
    const headers = context.with(trace.setSpan(context.active(), span), () =>
      injectTraceContext({ accept: 'text/event-stream' }),
    );
    span.end();
    const sent = span.spanContext();
    assert.equal(headers['accept'], 'text/event-stream', 'existing headers are kept');
    assert.equal(headers['traceparent'], `00-${sent.traceId}-${sent.spanId}-01`);

    const received = trace.getSpanContext(extractTraceContext(headers));
    assert.equal(received?.traceId, sent.traceId);
    assert.equal(received?.spanId, sent.spanId);
    assert.equal(received?.isRemote, true);
  });

  it('leaves the input untouched and adds nothing outside a span', () => {
    const input = { accept: 'application/json' };
    assert.deepEqual(injectTraceContext(input), input);
    assert.notEqual(injectTraceContext(input), input);
  });

  it('reads a traceparent whatever the case of its header name', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const ctx = extractTraceContext({ Traceparent: traceparent });
    assert.equal(trace.getSpanContext(ctx)?.traceId, '0af7651916cd43dd8448eb211c80319c');
  });

  it('extracts no span from headers without trace context', () => {
    assert.equal(trace.getSpanContext(extractTraceContext({ accept: '*/*' })), undefined);
  });
});
