import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { registerTracingShutdown, shutdownTracing } from './tracing-shutdown';

describe('shutdownTracing', () => {
  it('is a no-op when tracing never started', async () => {
    await shutdownTracing();
  });

  it('flushes the started SDK once, however often it is called', async () => {
    let calls = 0;
    registerTracingShutdown(async () => {
      calls++;
    });
    await shutdownTracing();
    await shutdownTracing();
    assert.equal(calls, 1);
  });
});
