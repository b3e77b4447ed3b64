import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { admissionSettingsSchema } from '@keelson/config';
import { MetricsRegistry } from '@keelson/observability';
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import { admitRequests } from './fastify-admission';

describe('admission control over a socket', () => {
  it('sheds what is past the limit with 503 overloaded and Retry-After, serves the admitted ones, then admits again', { timeout: 20_000 }, async () => {
    const settings = admissionSettingsSchema.parse({ ADMISSION_INVOKE_MAX_IN_FLIGHT: '2', ADMISSION_MAX_QUEUE: '1', ADMISSION_ADAPTIVE: 'false' });
    const registry = new MetricsRegistry({ processMetrics: false });
    const app = Fastify();
    const stop = admitRequests(app, settings, registry);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let started = 0;
    app.post('/v1/agents/:agentId/invoke', async () => {
      started++;
      await gate;
      return { ok: true };
    });
    app.get('/readyz', async () => ({ ready: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    try {
      const invoke = () => fetch(`${base}/v1/agents/echo/invoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      // Two run, one waits in the queue, three are refused at once (which three depends on arrival order).
      const early: Response[] = [];
      let threeAnswered!: () => void;
      const refusedSoon = new Promise<void>((resolve) => (threeAnswered = resolve));
      const calls = Array.from({ length: 6 }, () =>
        invoke().then((res) => {
          early.push(res);
          if (early.length === 3) threeAnswered();
          return res;
        }),
      );
      await refusedSoon;
      for (const res of early.slice(0, 3)) {
        assert.equal(res.status, 503);
        assert.ok(Number(res.headers.get('retry-after')) >= 1, 'Retry-After in whole seconds');
        assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'overloaded');
      }
      assert.equal((await fetch(`${base}/readyz`)).status, 200, 'probes are never limited');
      assert.equal(started, 2, 'nothing past the limit reached the handler');
      open();
      const statuses = (await Promise.all(calls)).map((res) => res.status).sort();
      assert.deepEqual(statuses, [200, 200, 200, 503, 503, 503]);
      assert.equal((await invoke()).status, 200, 'admitted again once the burst is over');
      const text = await registry.metrics();
      assert.match(text, /keelson_admission_admitted_total\{class="invoke"\} 4/);
      assert.match(text, /keelson_admission_shed_total\{class="invoke",reason="queue_full"\} 3/);
      assert.match(text, /keelson_admission_in_flight\{class="invoke"\} 0/);
    } finally {
      stop();
      await app.close();
    }
  });
});
