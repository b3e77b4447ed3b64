import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startOtlpReceiver, waitFor, type OtlpReceiverHandle, type ReceivedSpan } from '@keelson/testing';
import { client } from './support/http';
import { startMesh, type Mesh } from './support/mesh';

/** A trace the test starts itself: the gateway's server span is the child of this (never exported) client span. */
function newTrace(): { traceId: string; clientSpanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  const clientSpanId = randomBytes(8).toString('hex');
  return { traceId, clientSpanId, traceparent: `00-${traceId}-${clientSpanId}-01` };
}

/** Why `spans` are not one tree under the caller's span: orphans (a parent not in the trace) and extra roots. */
function treeProblems(spans: ReceivedSpan[], clientSpanId: string): string[] {
  const ids = new Set(spans.map((s) => s.spanId));
  const problems: string[] = [];
  const roots = spans.filter((s) => s.parentSpanId === clientSpanId);
  if (roots.length !== 1) problems.push(`${roots.length} spans under the caller's span (${roots.map(label).join(', ')}), expected 1`);
  for (const s of spans) {
    if (s.parentSpanId === clientSpanId) continue;
    if (!s.parentSpanId) problems.push(`${label(s)} is a second root`);
    else if (!ids.has(s.parentSpanId)) problems.push(`${label(s)} has parent ${s.parentSpanId}, not in the trace`);
  }
  return problems;
}
const label = (s: ReceivedSpan) => `${s.service}:${s.name}`;
const services = (spans: ReceivedSpan[]) => [...new Set(spans.map((s) => s.service))].sort();
const byId = (spans: ReceivedSpan[]) => new Map(spans.map((s) => [s.spanId, s]));

/** Polls until the trace has spans of every service in `expected` and forms one tree (spans are batched). */
async function connectedTrace(receiver: OtlpReceiverHandle, t: ReturnType<typeof newTrace>, expected: string[]): Promise<ReceivedSpan[]> {
  let last: ReceivedSpan[] = [];
  try {
    return await waitFor(
      () => {
        last = receiver.trace(t.traceId);
        const missing = expected.filter((svc) => !last.some((s) => s.service === svc));
        return missing.length === 0 && treeProblems(last, t.clientSpanId).length === 0 ? last : undefined;
      },
      { description: `trace ${t.traceId} to reach ${expected.join(', ')} as one tree`, timeoutMs: 20_000, intervalMs: 200 },
    );
  } catch (err) {
    const tree = last.map((s) => `  ${label(s)} ${s.kind} ${s.spanId} <- ${s.parentSpanId ?? '-'}`).join('\n');
    throw new Error(
      `${(err as Error).message}\nservices seen: ${services(last).join(', ')}\nproblems: ${treeProblems(last, t.clientSpanId).join('; ')}\nspans:\n${tree}\nreceiver rejected: ${receiver.rejected().join('; ') || 'nothing'}`,
    );
  }
}

/** The trace as an indented tree, for the test's diagnostics. */
function treeOf(spans: ReceivedSpan[], parent: string | undefined, depth = 0): string[] {
  return spans
    .filter((s) => s.parentSpanId === parent)
    .sort((a, b) => (BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1))
    .flatMap((s) => [`${'  '.repeat(depth)}${label(s)} (${s.kind})`, ...treeOf(spans, s.spanId, depth + 1)]);
}

/** The ancestors of `span`, nearest first. */
function ancestors(span: ReceivedSpan, spans: ReceivedSpan[]): ReceivedSpan[] {
  const index = byId(spans);
  const out: ReceivedSpan[] = [];
  for (let p = span.parentSpanId && index.get(span.parentSpanId); p; p = p.parentSpanId && index.get(p.parentSpanId)) out.push(p);
  return out;
}

function assertAgentSpans(spans: ReceivedSpan[], service: string, input: string): void {
  const run = spans.find((s) => s.service === service && s.name === 'invoke_agent assistant');
  assert.ok(run, `an invoke_agent span in ${service}; got ${spans.map(label).join(', ')}`);
  assert.equal(run.attributes['gen_ai.operation.name'], 'invoke_agent');
  assert.equal(run.attributes['keelson.tenant'], 'dev');
  const chat = spans.find((s) => s.service === service && s.name.startsWith('chat '));
  assert.ok(chat, `a chat span in ${service}`);
  assert.equal(chat.kind, 'CLIENT');
  assert.equal(chat.attributes['gen_ai.operation.name'], 'chat');
  assert.ok(ancestors(chat, spans).includes(run), 'the chat span is inside the run');
  assert.ok(typeof chat.attributes['gen_ai.usage.output_tokens'] === 'number', 'the chat span has its usage');
  // No message text in any span of the trace.
  const leaks = spans.flatMap((s) =>
    [...Object.entries(s.attributes), ['status', s.status.message], ['events', s.events]]
      .filter(([, v]) => JSON.stringify(v ?? '').includes(input))
      .map(([k, v]) => `${label(s)} ${k}=${JSON.stringify(v)}`),
  );
  assert.deepEqual(leaks, [], `the user's text "${input}" appears in spans`);
}

describe('one request, one connected trace, over the whole mesh (OTLP/HTTP)', () => {
  let receiver: OtlpReceiverHandle;
  let mesh: Mesh;
  let api: ReturnType<typeof client>;

  before(async () => {
    receiver = await startOtlpReceiver();
    mesh = await startMesh({
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        // The batch processor's default 5 s delay would only slow the test down.
        OTEL_BSP_SCHEDULE_DELAY: '200',
      },
    });
    api = client(mesh.base);
  });
  after(async () => {
    await mesh?.stop();
    await receiver?.stop();
  });

  it('a stateless invoke: gateway > session-agent (invoke_agent > chat) > audit-service, one tree', async (ctx) => {
    const t = newTrace();
    const input = 'TRACE-INVOKE-TEXT hello';
    const res = await api.post('/v1/agents/assistant/invoke', { input }, { traceparent: t.traceparent });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const spans = await connectedTrace(receiver, t, ['gateway', 'session-agent', 'audit-service']);
    for (const line of treeOf(spans, t.clientSpanId)) ctx.diagnostic(line);
    const root = spans.find((s) => s.parentSpanId === t.clientSpanId)!;
    assert.equal(root.service, 'gateway');
    assert.equal(root.kind, 'SERVER');
    assert.equal(root.name, 'POST /v1/agents/:agentId/invoke', 'the HTTP span is named by its route template');
    assertAgentSpans(spans, 'session-agent', input);
    // The invoke RPC: a CLIENT span in the gateway answered by a SERVER span in session-agent.
    const server = spans.find((s) => s.service === 'session-agent' && s.kind === 'SERVER');
    assert.ok(server, 'a SERVER span for the invoke RPC in session-agent');
    assert.equal(byId(spans).get(server.parentSpanId!)?.kind, 'CLIENT');
    assert.equal(byId(spans).get(server.parentSpanId!)?.service, 'gateway');
    assert.ok(!server.name.includes('_INBOX'), `no reply inbox in span names: ${server.name}`);
  });

  it('a session turn: gateway > session-agent turn consume (guard, invoke_agent > chat) > audit-service, one tree', async (ctx) => {
    const created = await api.post('/v1/sessions', { agentId: 'assistant' });
    assert.equal(created.status, 201);
    const t = newTrace();
    const input = 'TRACE-TURN-TEXT hello';
    const res = await api.post(`/v1/sessions/${created.body.sessionId}/messages`, { content: input }, { traceparent: t.traceparent });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const spans = await connectedTrace(receiver, t, ['gateway', 'session-agent', 'audit-service']);
    for (const line of treeOf(spans, t.clientSpanId)) ctx.diagnostic(line);
    assertAgentSpans(spans, 'session-agent', input);
    const consumers = spans.filter((s) => s.kind === 'CONSUMER');
    assert.ok(consumers.length > 0, 'the turn and the audit events are consumed from JetStream');
    for (const c of consumers) {
      assert.match(c.name, /^process \S+$/, `consumer span name ${c.name}`);
      assert.equal(c.attributes['messaging.system'], 'nats');
      assert.equal(byId(spans).get(c.parentSpanId!)?.kind, 'PRODUCER', `${label(c)} is the child of its PRODUCER span`);
    }
  });

  it('a task: gateway publishes, task-worker consumes and runs it, audit-service records it, one tree', async (ctx) => {
    const t = newTrace();
    const input = 'TRACE-TASK-TEXT summarise';
    const accepted = await api.post('/v1/tasks', { agentId: 'assistant', input }, { traceparent: t.traceparent });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    const { taskId } = accepted.body;
    await waitFor(async () => ((await api.get(`/v1/tasks/${taskId}`)).body.status === 'succeeded' ? true : undefined), {
      description: `task ${taskId} to succeed`,
      timeoutMs: 30_000,
    });
    const spans = await connectedTrace(receiver, t, ['gateway', 'task-worker', 'audit-service']);
    for (const line of treeOf(spans, t.clientSpanId)) ctx.diagnostic(line);
    assertAgentSpans(spans, 'task-worker', input);
    const publish = spans.find((s) => s.service === 'gateway' && s.kind === 'PRODUCER' && s.name.startsWith('send keelson.tasks'));
    assert.ok(publish, `the gateway's PRODUCER span for the task; got ${spans.filter((s) => s.kind === 'PRODUCER').map(label).join(', ')}`);
    assert.equal(publish.attributes['messaging.system'], 'nats');
    const consume = spans.find((s) => s.service === 'task-worker' && s.kind === 'CONSUMER' && s.parentSpanId === publish.spanId);
    assert.ok(consume, 'the task-worker CONSUMER span is the child of the publish');
    assert.ok(ancestors(spans.find((s) => s.name === 'invoke_agent assistant')!, spans).includes(consume), 'the run is inside the consume');
  });
});
