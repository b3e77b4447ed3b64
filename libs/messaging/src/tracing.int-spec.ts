import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { context, SpanKind, trace, type SpanContext } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Headers, Streams, Subjects, type ConsumerSpec } from '@keelson/contracts';
import { startNats, waitFor, type NatsServerHandle } from '@keelson/testing';
import type { NatsConnection } from 'nats';
import { connectNats } from './connection';
import { ConsumerRunner } from './consumer-runner';
import { silentLogger } from './logger';
import { provisionConsumer, provisionStreams } from './provisioning';
import { JetStreamPublisher } from './publisher';
import { request, serveRequests } from './request-reply';

/** Spans and W3C context through JetStream and request-reply, with a real SDK and an in-memory exporter. */
describe('trace context across NATS', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager();
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let publisher: JetStreamPublisher;
  let runner: ConsumerRunner | undefined;

  const spec: ConsumerSpec = {
    stream: Streams.tasks.name,
    durable: 'trace-worker',
    filterSubject: Subjects.allTasks,
    ackWaitMs: 5_000,
    maxDeliver: 3,
    maxAckPending: 10,
    retryBackoffMs: [20],
    description: 'test',
  };
  const spans = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);
  const parentSpanId = (s: ReadableSpan): string | undefined =>
    (s as ReadableSpan & { parentSpanContext?: SpanContext; parentSpanId?: string }).parentSpanContext?.spanId ??
    (s as ReadableSpan & { parentSpanId?: string }).parentSpanId;

  before(async () => {
    context.setGlobalContextManager(contextManager.enable());
    trace.setGlobalTracerProvider(provider);
    nats = await startNats();
    nc = await connectNats({ url: nats.url, name: 'tracing-spec', logger: silentLogger });
    publisher = new JetStreamPublisher(nc, { logger: silentLogger });
    await provisionStreams(nc, [Streams.tasks, Streams.results]);
    await provisionConsumer(nc, spec);
  });

  after(async () => {
    await runner?.stop();
    await nc.close();
    await nats.stop();
    await provider.shutdown();
    trace.disable();
    context.disable();
  });

  it('a PRODUCER span on publish is the parent of the CONSUMER span, and publishes inside the handler join the trace', async () => {
    exporter.reset();
    const seen: { traceparent?: string; activeTraceId?: string }[] = [];
    runner = new ConsumerRunner(
      nc,
      spec,
      async (msg) => {
        seen.push({ traceparent: msg.headers[Headers.traceparent], activeTraceId: trace.getActiveSpan()?.spanContext().traceId });
        await publisher.publish(Subjects.result('acme', 'summarise', 'tsk_1'), { ok: true });
      },
      { logger: silentLogger },
    );
    await runner.start();

    const ack = await publisher.publish(Subjects.task('acme', 'summarise'), { input: 'x' }, { msgId: 'acme:trace-1' });
    await waitFor(() => spans(`process ${Subjects.allTasks}`).length === 1 && spans(`send ${Subjects.allResults}`).length === 1, {
      description: 'the consumer span and the handler publish span',
    });

    const [producer] = spans(`send ${Subjects.allTasks}`);
    const [consumer] = spans(`process ${Subjects.allTasks}`);
    const [inner] = spans(`send ${Subjects.allResults}`);
    assert.ok(producer && consumer && inner);
    assert.equal(producer.kind, SpanKind.PRODUCER);
    assert.equal(consumer.kind, SpanKind.CONSUMER);
    assert.equal(inner.kind, SpanKind.PRODUCER);

    const traceId = producer.spanContext().traceId;
    assert.equal(consumer.spanContext().traceId, traceId, 'consumer in the producer trace');
    assert.equal(inner.spanContext().traceId, traceId, 'a publish inside the handler stays in the trace');
    assert.equal(parentSpanId(consumer), producer.spanContext().spanId, 'consumer is a child of the producer');
    assert.equal(parentSpanId(inner), consumer.spanContext().spanId, 'handler publish is a child of the consumer');
    assert.equal(seen[0]?.activeTraceId, traceId, 'the handler runs inside the consumer span');
    assert.match(seen[0]?.traceparent ?? '', new RegExp(`^00-${traceId}-${producer.spanContext().spanId}-01$`));

    assert.equal(producer.attributes['messaging.system'], 'nats');
    assert.equal(producer.attributes['messaging.destination.name'], Subjects.task('acme', 'summarise'));
    assert.equal(producer.attributes['messaging.message.id'], 'acme:trace-1');
    assert.equal(producer.attributes['messaging.nats.stream.sequence'], ack.seq);
    assert.equal(consumer.attributes['messaging.consumer.group.name'], 'trace-worker');
    assert.equal(consumer.attributes['keelson.messaging.outcome'], 'ack');
  });

  it('a request carries the CLIENT span to the SERVER span of the responder', async () => {
    exporter.reset();
    const server = serveRequests<{ q: string }, { a: string; traceId?: string }>(
      nc,
      'trace.rpc',
      'trace-q',
      async (req) => ({ a: req.q, traceId: trace.getActiveSpan()?.spanContext().traceId }),
      { logger: silentLogger },
    );
    try {
      const reply = await request<{ a: string; traceId?: string }>(nc, 'trace.rpc', { q: 'hi' }, { timeoutMs: 2_000 });
      await waitFor(() => spans('process trace.rpc').length === 1, { description: 'the server span' });
      const [client] = spans('send trace.rpc');
      const [serverSpan] = spans('process trace.rpc');
      assert.ok(client && serverSpan);
      assert.equal(client.kind, SpanKind.CLIENT);
      assert.equal(serverSpan.kind, SpanKind.SERVER);
      assert.equal(serverSpan.spanContext().traceId, client.spanContext().traceId);
      assert.equal(parentSpanId(serverSpan), client.spanContext().spanId);
      assert.equal(reply.traceId, client.spanContext().traceId, 'the handler runs inside the server span');
      assert.ok(!client.name.includes('_INBOX'), 'span names never carry a reply inbox');
    } finally {
      await server.stop();
    }
  });
});
