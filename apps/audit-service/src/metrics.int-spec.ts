import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditConsumers, AuditTypes } from '@keelson/contracts';
import { AuditTrail } from '@keelson/audit';
import { JetStreamPublisher, silentLogger } from '@keelson/messaging';
import { freePort, startApp, startNats, waitFor, type AppHandle, type NatsServerHandle } from '@keelson/testing';
import { connect, type NatsConnection } from 'nats';

/** GET /metrics of a real service process: process metrics, consumer metrics and the service's own counters. */
describe('audit-service /metrics', () => {
  let nats: NatsServerHandle;
  let app: AppHandle;
  let nc: NatsConnection;
  let dir: string;
  let base: string;

  before(async () => {
    nats = await startNats();
    dir = mkdtempSync(join(tmpdir(), 'keelson-audit-metrics-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    app = await startApp({
      name: 'audit-service',
      env: { NATS_URL: nats.url, HEALTH_PORT: String(port), AUDIT_DATA_DIR: join(dir, 'store'), LOG_LEVEL: 'warn', AUDIT_ARCHIVE_INTERVAL_MS: '0' },
      readyUrl: `${base}/readyz`,
    });
    nc = await connect({ servers: nats.url });
  });

  after(async () => {
    await nc?.close();
    await app?.stop();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const scrape = async () => {
    const res = await fetch(`${base}/metrics`);
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };

  it('serves the Prometheus text format without a key, with the process metrics labelled by service', async () => {
    const { status, type, text } = await scrape();
    assert.equal(status, 200);
    assert.match(type ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(text, /^keelson_process_cpu_user_seconds_total\{service="audit-service"\} /m);
    assert.match(text, /^keelson_nodejs_heap_size_used_bytes\{service="audit-service"\} /m);
  });

  it('reports the durable consumer\'s backlog and what it processed', async () => {
    const { stream, durable } = AuditConsumers.writer;
    const labels = `stream="${stream}",consumer="${durable}"`;
    const trail = new AuditTrail(new JetStreamPublisher(nc, { logger: silentLogger }), { service: 'itest' });
    await trail.record({ id: 'm-1', tenant: 'acme', type: AuditTypes.runStarted, data: {} });
    const text = await waitFor(
      async () => {
        const { text } = await scrape();
        return text.includes(`keelson_jetstream_messages_processed_total{${labels},outcome="ack",service="audit-service"} 1`) ? text : undefined;
      },
      { timeoutMs: 10_000, description: 'the audit event to be counted as acked' },
    );
    assert.match(text, new RegExp(`keelson_jetstream_consumer_pending_messages\\{${labels},service="audit-service"\\} 0`));
    assert.match(text, new RegExp(`keelson_jetstream_consumer_ack_pending_messages\\{${labels},service="audit-service"\\} `));
    assert.match(text, /keelson_audit_events_total\{outcome="stored",service="audit-service"\} 1/);
  });
});
