import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { before, describe, it } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { createLogger, type Logger } from './logger';
import { runWithTenant } from './tenant-context';

/** A logger writing into an array, and a way to read back the parsed lines once winston has piped them. */
function capture(level?: string): { logger: Logger; lines: () => Promise<Record<string, unknown>[]> } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ service: 'test-svc', level, destination });
  return {
    logger,
    lines: async () => {
      await tick();
      return chunks.join('').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
    },
  };
}

describe('createLogger', () => {
  before(() => {
    // What startTracing does in an app, minus the auto-instrumentation: a real tracer and async context.
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(new BasicTracerProvider());
  });

  it('writes one JSON line with timestamp, level, service, message and meta', async () => {
    const { logger, lines } = capture();
    logger.info('session opened', { sessionId: 's-1' });
    const [line] = await lines();
    assert.equal(line!['level'], 'info');
    assert.equal(line!['service'], 'test-svc');
    assert.equal(line!['message'], 'session opened');
    assert.equal(line!['sessionId'], 's-1');
    assert.ok(!Number.isNaN(Date.parse(line!['timestamp'] as string)), `timestamp ${line!['timestamp']}`);
    assert.equal(line!['trace_id'], undefined, 'no span is active, so no trace id');
  });

  it('adds trace_id and span_id of the active span', async () => {
    const { logger, lines } = capture();
    const tracer = trace.getTracer('test');
    const ids = await tracer.startActiveSpan('work', async (span) => {
      await tick(); // still inside the span after an await
      logger.info('inside');
      span.end();
      return span.spanContext();
    });
    const [line] = await lines();
    assert.equal(line!['trace_id'], ids.traceId);
    assert.equal(line!['span_id'], ids.spanId);
    assert.match(ids.traceId, /^[0-9a-f]{32}$/);
  });

  it('adds the tenant inside runWithTenant, and not outside it', async () => {
    const { logger, lines } = capture();
    await runWithTenant('acme', async () => {
      await tick();
      logger.info('inside');
    });
    logger.info('outside');
    const [inside, outside] = await lines();
    assert.equal(inside!['tenant'], 'acme');
    assert.equal(outside!['tenant'], undefined);
  });

  it('filters by level, and setLevel changes it at run time', async () => {
    const { logger, lines } = capture('warn');
    logger.info('dropped');
    logger.warn('kept');
    logger.setLevel('debug');
    logger.debug('now kept');
    assert.equal(logger.level, 'debug');
    assert.deepEqual((await lines()).map((l) => l['message']), ['kept', 'now kept']);
  });

  it('refuses an unknown level rather than logging nothing', () => {
    const { logger } = capture();
    assert.throws(() => logger.setLevel('verbose'), /unknown log level "verbose"/);
    assert.throws(() => createLogger({ service: 's', level: 'trace' }), /unknown log level/);
  });

  it('serialises an Error in meta with name, message, stack and its own fields', async () => {
    const { logger, lines } = capture();
    const err = Object.assign(new TypeError('bad input'), { code: 'E_BAD' });
    logger.error('failed', { err });
    logger.error('failed again', err);
    const [nested, direct] = await lines();
    for (const line of [nested!, direct!]) {
      const logged = line['err'] as Record<string, unknown>;
      assert.equal(logged['name'], 'TypeError');
      assert.equal(logged['message'], 'bad input');
      assert.equal(logged['code'], 'E_BAD');
      assert.match(logged['stack'] as string, /TypeError: bad input\n\s+at /);
    }
    assert.equal(direct!['message'], 'failed again', 'the error does not replace the log message');
  });

  it('keeps meta that collides with a fixed field under meta.<key>, and survives cycles', async () => {
    const { logger, lines } = capture();
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic['self'] = cyclic;
    logger.info('hello', { service: 'spoofed', cyclic });
    const [line] = await lines();
    assert.equal(line!['service'], 'test-svc');
    assert.equal(line!['meta.service'], 'spoofed');
    assert.deepEqual(line!['cyclic'], { name: 'loop', self: '[Circular]' });
  });

  it('child loggers add their bindings to every line', async () => {
    const { logger, lines } = capture();
    logger.child({ component: 'worker' }).info('hi', { n: 1 });
    const [line] = await lines();
    assert.equal(line!['component'], 'worker');
    assert.equal(line!['n'], 1);
  });

  it('scrubs PII and secrets from the message, the meta and errors before writing, and keeps IP addresses and ids', async () => {
    const { logger, lines } = capture();
    const err = new Error('rejected card 4111 1111 1111 1111');
    logger.warn('mail from jane.doe@example.com', { nested: { key: 'sk-proj-Zq8X2mN4vB7cK1pL9wR3tY6uI0oE5aS8dF2gH4jK' }, peer: '10.1.2.3', err });
    const [line] = await lines();
    const text = JSON.stringify(line);
    assert.doesNotMatch(text, /jane\.doe@example\.com|4111 1111 1111 1111|sk-proj-Zq8X/);
    assert.equal(line!['message'], 'mail from [EMAIL]');
    assert.equal(line!['peer'], '10.1.2.3');
    assert.match((line!['err'] as Record<string, string>)['message']!, /rejected card \[CARD\]/);
  });

  it('writes lines as they are when scrubbing is off', async () => {
    const chunks: string[] = [];
    const destination = new Writable({ write: (c, _e, cb) => (chunks.push(String(c)), cb()) });
    createLogger({ service: 's', destination, scrubPii: false }).info('mail jane.doe@example.com');
    await new Promise((r) => setImmediate(r));
    assert.match(chunks.join(''), /jane\.doe@example\.com/);
  });
});
