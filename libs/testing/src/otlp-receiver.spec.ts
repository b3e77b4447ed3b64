import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { SpanKind, SpanStatusCode, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startOtlpReceiver, type OtlpReceiverHandle } from './otlp-receiver';
import { waitFor } from './wait-for';

describe('the OTLP/HTTP test receiver', () => {
  let receiver: OtlpReceiverHandle;
  before(async () => {
    receiver = await startOtlpReceiver();
  });
  after(async () => receiver.stop());

  it('decodes what the project\'s exporter sends: ids, parent, kind, service, scope, attributes, status, events', async () => {
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'spec-service' }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${receiver.url}/v1/traces` }))],
    });
    const tracer = provider.getTracer('spec-scope');
    const parent = tracer.startSpan('parent', { kind: SpanKind.SERVER });
    const child = tracer.startSpan(
      'child',
      { kind: SpanKind.PRODUCER, attributes: { text: 'a', count: 3, ratio: 0.5, flag: true, list: ['x', 'y'] } },
      trace.setSpan(ROOT_CONTEXT, parent),
    );
    child.addEvent('happened', { n: 1 });
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
    child.end();
    parent.end();
    await provider.forceFlush();
    const spans = await waitFor(() => (receiver.spans().length === 2 ? receiver.spans() : undefined), { description: 'two spans at the receiver' });
    await provider.shutdown();

    const p = spans.find((s) => s.name === 'parent')!;
    const c = spans.find((s) => s.name === 'child')!;
    assert.equal(p.traceId, parent.spanContext().traceId);
    assert.equal(p.spanId, parent.spanContext().spanId);
    assert.equal(p.parentSpanId, undefined);
    assert.equal(p.kind, 'SERVER');
    assert.equal(c.parentSpanId, p.spanId);
    assert.equal(c.traceId, p.traceId);
    assert.equal(c.kind, 'PRODUCER');
    assert.equal(c.service, 'spec-service');
    assert.equal(c.scope, 'spec-scope');
    assert.deepEqual(c.attributes, { text: 'a', count: 3, ratio: 0.5, flag: true, list: ['x', 'y'] });
    assert.deepEqual(c.status, { code: 2, message: 'boom' });
    assert.deepEqual(c.events, [{ name: 'happened', attributes: { n: 1 } }]);
    assert.deepEqual(receiver.trace(p.traceId).length, 2);
    assert.deepEqual(receiver.rejected(), []);
  });

  it('refuses the protobuf encoding and unknown paths loudly', async () => {
    const proto = await fetch(`${receiver.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array([1, 2]) });
    assert.equal(proto.status, 415);
    const wrong = await fetch(`${receiver.url}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(wrong.status, 404);
    assert.equal(receiver.rejected().length, 2);
  });
});
