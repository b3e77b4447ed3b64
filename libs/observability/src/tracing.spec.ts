import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { propagation, trace } from '@opentelemetry/api';
import { startTracing } from './index';
import { injectTraceContext } from './propagation';

// node:test runs each spec file in its own process, so the SDK's global registrations stay in this file.
describe('startTracing', () => {
  it('produces real, propagated trace contexts with no exporter configured', async () => {
    const tracing = startTracing({ serviceName: 'tracing-spec' });
    try {
      const headers = trace.getTracer('test').startActiveSpan('job', (span) => {
        const out = injectTraceContext({});
        span.end();
        return out;
      });
      assert.match(headers['traceparent'] ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      assert.deepEqual(propagation.fields(), ['traceparent', 'tracestate']);
    } finally {
      await tracing.shutdown();
    }
  });

  it('refuses a sample ratio outside 0..1', () => {
    assert.throws(() => startTracing({ serviceName: 's', sampleRatio: 1.5 }), /between 0 and 1/);
  });
});

// register.ts runs at import, so each case is a fresh node process importing it first, as main.ts would.
describe('register entry', () => {
  const script = `
    const { tracing } = require(${JSON.stringify(join(__dirname, 'register.js'))});
    const http = require('node:http');
    require('@opentelemetry/api').trace.getTracer('t').startActiveSpan('s', (span) => {
      console.log(JSON.stringify({ ...span.spanContext(), httpPatched: Boolean(http.request.__wrapped) }));
      span.end();
    });
    tracing.shutdown();`;
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, ['-e', script], { cwd: __dirname, encoding: 'utf8', env: { PATH: process.env['PATH'], ...env } });

  it('patches modules loaded after it, and at ratio 0 still gives spans a trace id, unsampled', () => {
    const result = run({ SERVICE_NAME: 'register-spec', OTEL_TRACES_SAMPLER_ARG: '0' });
    assert.equal(result.status, 0, result.stderr);
    const span = JSON.parse(result.stdout) as { traceId: string; traceFlags: number; httpPatched: boolean };
    assert.match(span.traceId, /^[0-9a-f]{32}$/);
    assert.notEqual(span.traceId, '0'.repeat(32));
    assert.equal(span.traceFlags, 0, 'ratio 0 samples nothing');
    assert.equal(span.httpPatched, true, 'http loaded after register is instrumented');
  });

  it('stops the process with a ConfigError naming a bad variable', () => {
    const result = run({ OTEL_TRACES_SAMPLER_ARG: '2' });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /OTEL_TRACES_SAMPLER_ARG: expected a number between 0 and 1/);
  });

  it('exports spans to <endpoint>/v1/traces when an OTLP endpoint is set', async () => {
    const paths: string[] = [];
    const collector = createServer((req, res) => {
      paths.push(`${req.method} ${req.url}`);
      req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/`;
      // Asynchronous spawn: the collector answers from this process's event loop.
      const child = spawn(process.execPath, ['-e', script], {
        cwd: __dirname,
        env: { PATH: process.env['PATH'], SERVICE_NAME: 'register-spec', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint },
      });
      const status = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      assert.equal(status, 0);
      assert.deepEqual(paths, ['POST /v1/traces']);
    } finally {
      collector.close();
    }
  });
});
