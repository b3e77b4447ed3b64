import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { builtinAgents } from '../agents/builtin-agents';
import { OfflineModel } from '../model/offline-model';
import { ProviderRegistry } from '../model/provider';
import { DeltaCoalescer } from './delta-coalescer';
import { runAgent } from './run-agent';

function coalescer(maxChars = 10, maxDelayMs = 50) {
  const flushed: string[] = [];
  return { flushed, deltas: new DeltaCoalescer({ maxChars, maxDelayMs, flush: (text) => flushed.push(text) }) };
}

describe('DeltaCoalescer', () => {
  it('flushes at once when maxChars is reached', () => {
    const { flushed, deltas } = coalescer(10);
    deltas.push('12345');
    assert.deepEqual(flushed, []);
    deltas.push('678901');
    assert.deepEqual(flushed, ['12345678901']);
  });

  it('flushes after maxDelayMs counted from the first buffered push', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { flushed, deltas } = coalescer(100, 50);
    deltas.push('a');
    t.mock.timers.tick(30);
    deltas.push('b'); // does not restart the clock
    t.mock.timers.tick(19);
    assert.deepEqual(flushed, []);
    t.mock.timers.tick(1);
    assert.deepEqual(flushed, ['ab']);
    deltas.push('c');
    t.mock.timers.tick(50);
    assert.deepEqual(flushed, ['ab', 'c']);
  });

  it('end() flushes the rest, once, and cancels the pending timer', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { flushed, deltas } = coalescer(100, 50);
    deltas.push('tail');
    deltas.end();
    deltas.end();
    t.mock.timers.tick(100);
    assert.deepEqual(flushed, ['tail']);
  });

  it('flushes nothing for nothing, and refuses a push after end()', () => {
    const { flushed, deltas } = coalescer();
    deltas.push('');
    deltas.end();
    assert.deepEqual(flushed, []);
    assert.throws(() => deltas.push('late'), /after end/);
  });

  it('rethrows a failure of a timed flush from the next call', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const deltas = new DeltaCoalescer({
      maxChars: 100,
      maxDelayMs: 10,
      flush: () => {
        throw new Error('publish failed');
      },
    });
    deltas.push('x');
    t.mock.timers.tick(10);
    assert.throws(() => deltas.end(), /publish failed/);
  });

  it('turns an instant model reply into one delta, and a slow one into several', async () => {
    const agent = builtinAgents()[0]!;
    const messages = [{ role: 'user' as const, content: 'hello' }];
    const deltasOf = async (tokenDelayMs: number) => {
      const { flushed, deltas } = coalescer(256, 1);
      const providers = new ProviderRegistry([new OfflineModel({ tokenDelayMs })]);
      const outcome = await runAgent({ agent, messages, providers, onDelta: (d) => deltas.push(d) });
      deltas.end();
      assert.equal(flushed.join(''), outcome.output);
      return flushed.length;
    };
    assert.equal(await deltasOf(0), 1);
    assert.ok((await deltasOf(5)) > 1);
  });

  it('sends the first text at once when someone is watching, then batches the rest', () => {
    const flushed: string[] = [];
    const coalescer = new DeltaCoalescer({ maxChars: 256, maxDelayMs: 60_000, firstImmediately: true, flush: (t) => flushed.push(t) });
    coalescer.push('Hel');
    assert.deepEqual(flushed, ['Hel'], 'the first token is not held back');
    coalescer.push('lo ');
    coalescer.push('world');
    assert.deepEqual(flushed, ['Hel']);
    coalescer.end();
    assert.deepEqual(flushed, ['Hel', 'lo world']);
  });
});
