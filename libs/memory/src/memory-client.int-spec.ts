import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { MemoryQueueGroup, MemorySubjects } from '@keelson/contracts';
import { serveRequests, silentLogger } from '@keelson/messaging';
import { startNats, type NatsServerHandle } from '@keelson/testing';
import { connect, type NatsConnection } from 'nats';
import { MemoryClient } from './memory-client';

const hit = { id: 'mem_1', kind: 'memory', namespace: 'user:ada', text: 'The user likes green tea', metadata: {}, createdAt: '2026-01-01T00:00:00.000Z', score: 0.7 };

describe('MemoryClient (what agent runtimes call) over a real nats-server', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;

  before(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
  });
  after(async () => {
    await nc?.close();
    await nats?.stop();
  });

  it('says memory is unavailable, without throwing, when no memory-service answers', async () => {
    const r = await new MemoryClient(nc).recallForTurn('dev', 'ada', 'tea');
    assert.deepEqual(r, { memories: [], late: false, tokens: 0, unavailable: 'memory-service is not running' });
  });

  it('passes the budgets on and returns the memories; answers late when the reply misses the budget', async () => {
    let delayMs = 0;
    const seen: any[] = [];
    const server = serveRequests(
      nc,
      MemorySubjects.recallRpc,
      MemoryQueueGroup,
      async (req: any) => {
        seen.push(req);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        return { ok: true, memories: [hit], late: false, tokens: 6 };
      },
      { logger: silentLogger },
    );
    try {
      const client = new MemoryClient(nc);
      const r = await client.recallForTurn('dev', 'ada', 'tea?', { topK: 3, tokenBudget: 50, timeoutMs: 200 });
      assert.deepEqual(r, { memories: [hit], late: false, tokens: 6 });
      assert.deepEqual(seen[0], { tenant: 'dev', userId: 'ada', query: 'tea?', timeoutMs: 200, topK: 3, tokenBudget: 50 });
      assert.deepEqual(await client.bind('dev', 'ada').recall('tea', 2), [{ content: 'The user likes green tea', score: 0.7 }]);

      delayMs = 500;
      const started = Date.now();
      const late = await client.recallForTurn('dev', 'ada', 'tea?', { timeoutMs: 50 });
      assert.deepEqual(late, { memories: [], late: true, tokens: 0 });
      assert.ok(Date.now() - started < 400, 'did not wait for the slow reply');
    } finally {
      await server.stop();
    }
  });

  it('publishes a finished turn on the tenant\'s write subject with its message id', async () => {
    const published: any[] = [];
    const client = new MemoryClient(nc, { publish: async (subject, data, options) => void published.push({ subject, data, options }) });
    await client.rememberTurn('acme', { userId: 'ada', userText: 'I like tea', sessionId: 'ses_1' }, 'acme:ses_1:3:memory');
    assert.deepEqual(published, [
      {
        subject: 'keelson.memory.writes.acme',
        data: { type: 'turn', userId: 'ada', userText: 'I like tea', sessionId: 'ses_1' },
        options: { msgId: 'acme:ses_1:3:memory' },
      },
    ]);
  });
});
