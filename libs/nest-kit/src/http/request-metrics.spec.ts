import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { MetricsRegistry } from '@keelson/observability';
import Fastify from 'fastify';
import { executionModelOf, noteErrorCode, recordHttpMetrics } from './request-metrics';

describe('HTTP request metrics', () => {
  it('maps route templates to execution models', () => {
    assert.equal(executionModelOf('/v1/agents/:agentId/invoke'), 'stateless');
    assert.equal(executionModelOf('/v1/chat/completions'), 'stateless');
    assert.equal(executionModelOf('/v1/sessions'), 'session');
    assert.equal(executionModelOf('/v1/sessions/:sessionId/messages'), 'session');
    assert.equal(executionModelOf('/v1/tasks/:taskId'), 'task');
    assert.equal(executionModelOf('/v1/agents'), 'other');
    assert.equal(executionModelOf('/healthz'), 'other');
  });

  it('records latency by route template (never the raw URL) and errors by the code answered', async () => {
    const registry = new MetricsRegistry({ processMetrics: false });
    const app = Fastify();
    recordHttpMetrics(app, registry);
    app.get('/v1/tasks/:taskId', async (request, reply) => {
      noteErrorCode(request, 'task_not_found');
      return reply.status(404).send({ error: { code: 'task_not_found', message: 'no' } });
    });
    app.post('/v1/agents/:agentId/invoke', async (_request, reply) => reply.status(429).send({ error: { code: 'rate_limited', message: 'slow down' } }));
    app.get('/v1/sessions/:sessionId', async () => ({ ok: true }));
    app.get('/readyz', async () => ({ ok: true }));
    await app.inject({ method: 'GET', url: '/readyz' });
    await app.inject({ method: 'GET', url: '/v1/tasks/tsk_123?x=1' });
    await app.inject({ method: 'POST', url: '/v1/agents/assistant/invoke' });
    await app.inject({ method: 'GET', url: '/v1/sessions/ses_9' });
    await app.inject({ method: 'GET', url: '/nowhere' });
    await app.close();
    const text = await registry.metrics();
    assert.match(text, /keelson_http_request_duration_seconds_count\{method="GET",route="\/v1\/tasks\/:taskId",status_class="4xx",execution_model="task"\} 1/);
    assert.match(text, /keelson_http_request_duration_seconds_count\{method="POST",route="\/v1\/agents\/:agentId\/invoke",status_class="4xx",execution_model="stateless"\} 1/);
    assert.match(text, /keelson_http_request_duration_seconds_count\{method="GET",route="\/v1\/sessions\/:sessionId",status_class="2xx",execution_model="session"\} 1/);
    assert.match(text, /keelson_http_errors_total\{route="\/v1\/tasks\/:taskId",status="404",code="task_not_found"\} 1/);
    assert.match(text, /keelson_http_errors_total\{route="\/v1\/agents\/:agentId\/invoke",status="429",code="rate_limited"\} 1/, 'the code read from the body');
    assert.match(text, /keelson_http_errors_total\{route="unmatched",status="404",code="unknown"\} 1/);
    assert.doesNotMatch(text, /tsk_123|ses_9|assistant/, 'no raw URL or id in a label');
    assert.doesNotMatch(text, /readyz/, 'probes are not traffic');
  });
});
