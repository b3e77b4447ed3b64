import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { ErrorCodes, KeelsonError } from '@keelson/contracts';
import { startNats, type NatsServerHandle } from '@keelson/testing';
import type { NatsConnection } from 'nats';
import { connectNats } from './connection';
import { NoRespondersError, RequestTimeoutError } from './errors';
import { silentLogger, type MessagingLogger } from './logger';
import { request, serveRequests, type ErrorReply } from './request-reply';

describe('request / serveRequests', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let nc2: NatsConnection;
  const errors: string[] = [];
  const logger: MessagingLogger = { ...silentLogger, error: (msg) => errors.push(msg) };

  before(async () => {
    nats = await startNats({ jetstream: false });
    nc = await connectNats({ url: nats.url, name: 'rpc-spec', logger: silentLogger });
    nc2 = await connectNats({ url: nats.url, name: 'rpc-spec-2', logger: silentLogger });
  });

  after(async () => {
    await Promise.all([nc.close(), nc2.close()]);
    await nats.stop();
  });

  it('round-trips JSON and passes the request headers to the handler', async () => {
    const server = serveRequests<{ n: number }, { doubled: number; tenant?: string }>(nc, 'rpc.double', 'doublers', async (req, headers) => ({
      doubled: req.n * 2,
      tenant: headers['Keelson-Tenant'],
    }));
    try {
      const reply = await request<{ doubled: number; tenant?: string }>(nc, 'rpc.double', { n: 21 }, {
        timeoutMs: 2_000,
        headers: { 'Keelson-Tenant': 'acme' },
      });
      assert.deepEqual(reply, { doubled: 42, tenant: 'acme' });
    } finally {
      await server.stop();
    }
  });

  it('shares requests among the members of a queue group, each answered once', async () => {
    const handled = { a: 0, b: 0 };
    const slowly = (name: 'a' | 'b') => async () => {
      handled[name]++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { by: name };
    };
    const a = serveRequests(nc, 'rpc.shared', 'sharers', slowly('a'));
    const b = serveRequests(nc2, 'rpc.shared', 'sharers', slowly('b'));
    try {
      await nc2.flush(); // b's subscription is known to the server
      const replies = await Promise.all(Array.from({ length: 60 }, () => request<{ by: string }>(nc, 'rpc.shared', {}, { timeoutMs: 5_000 })));
      assert.equal(replies.length, 60);
      assert.equal(handled.a + handled.b, 60, 'each request handled exactly once');
      assert.ok(handled.a > 0 && handled.b > 0, `both members answered: ${JSON.stringify(handled)}`);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('answers a failing handler with an internal_error reply instead of leaving the caller waiting', async () => {
    const server = serveRequests(nc, 'rpc.fail', 'failers', async () => {
      throw new Error('database on fire');
    }, { logger });
    try {
      const reply = await request<ErrorReply>(nc, 'rpc.fail', {}, { timeoutMs: 2_000 });
      assert.deepEqual(reply, { ok: false, status: 500, code: ErrorCodes.internal, message: 'database on fire' });
      assert.ok(errors.includes('request handler failed'));
    } finally {
      await server.stop();
    }
  });

  it('keeps the status, code and field of a KeelsonError', async () => {
    const server = serveRequests(nc, 'rpc.keelson', 'k', async () => {
      throw new KeelsonError(404, ErrorCodes.agentNotFound, 'no agent summarise', 'agentId');
    }, { logger });
    try {
      const reply = await request<ErrorReply>(nc, 'rpc.keelson', {}, { timeoutMs: 2_000 });
      assert.deepEqual(reply, { ok: false, status: 404, code: 'agent_not_found', message: 'no agent summarise', field: 'agentId' });
    } finally {
      await server.stop();
    }
  });

  it('answers a body that is not JSON with 400 invalid_json', async () => {
    const server = serveRequests(nc, 'rpc.json', 'j', async () => ({ ok: true }), { logger });
    try {
      const raw = await nc.request('rpc.json', new TextEncoder().encode('{oops'), { timeout: 2_000 });
      const reply = JSON.parse(new TextDecoder().decode(raw.data)) as ErrorReply;
      assert.equal(reply.status, 400);
      assert.equal(reply.code, ErrorCodes.invalidJson);
    } finally {
      await server.stop();
    }
  });

  it('throws NoRespondersError when nobody serves the subject', async () => {
    await assert.rejects(request(nc, 'rpc.nobody', {}, { timeoutMs: 2_000 }), (err: Error) => {
      assert.ok(err instanceof NoRespondersError);
      assert.equal(err.subject, 'rpc.nobody');
      return true;
    });
  });

  it('throws RequestTimeoutError when the responder does not answer in time', async () => {
    let release!: () => void;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    const server = serveRequests(nc, 'rpc.slow', 's', async () => {
      await stuck;
      return {};
    });
    try {
      await assert.rejects(request(nc, 'rpc.slow', {}, { timeoutMs: 200 }), (err: Error) => err instanceof RequestTimeoutError && err.timeoutMs === 200);
    } finally {
      release();
      await server.stop();
    }
  });

  it('stop() answers the requests already received before it returns', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started = 0;
    const server = serveRequests(nc, 'rpc.drain', 'd', async () => {
      started++;
      await gate;
      return { done: true };
    });
    const pending = Promise.all([1, 2, 3].map(() => request<{ done: boolean }>(nc, 'rpc.drain', {}, { timeoutMs: 5_000 })));
    while (started < 3) await new Promise((resolve) => setTimeout(resolve, 10));
    const stopping = server.stop();
    release();
    await stopping;
    assert.deepEqual(await pending, [{ done: true }, { done: true }, { done: true }]);
    await assert.rejects(request(nc, 'rpc.drain', {}, { timeoutMs: 1_000 }), NoRespondersError);
  });

  describe('bounded queueing at the responder', () => {
    /** A handler held until release(), counting the calls that started. */
    const gated = () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const state = { started: 0, release };
      const handler = async (req: { i: number }) => {
        state.started++;
        await gate;
        return { i: req.i };
      };
      return { state, handler };
    };
    type Reply = { i: number } | ErrorReply;
    const isOverloaded = (r: Reply) => 'ok' in r && r.ok === false && r.status === 503 && r.code === ErrorCodes.overloaded;
    const shedCounter = () => {
      const shed: Record<string, number> = {};
      let started = 0;
      return { shed, get started() { return started; }, metrics: { shed: (reason: string) => void (shed[reason] = (shed[reason] ?? 0) + 1), started: () => void started++ } };
    };

    it('answers the excess of a burst 503 overloaded at once, runs the admitted ones, and serves every request again after it', async () => {
      const { state, handler } = gated();
      const counts = shedCounter();
      const server = serveRequests(nc, 'rpc.burst', 'burst', handler, {
        logger,
        concurrency: 2,
        maxQueue: 3,
        maxQueueWaitMs: 60_000, // no waiter expires in this test: the queue's room decides
        metrics: counts.metrics,
      });
      try {
        const send = (i: number) => request<Reply>(nc, 'rpc.burst', { i }, { timeoutMs: 20_000 });
        const burst = Array.from({ length: 20 }, (_, i) => send(i));
        // The 15 that found no room are answered while both handlers are still held: not after the caller's timeout.
        const refusals: Reply[] = [];
        await new Promise<void>((resolve, reject) => {
          for (const reply of burst) {
            reply.then((r) => {
              if (isOverloaded(r)) refusals.push(r);
              if (refusals.length === 15) resolve();
            }, reject);
          }
        });
        assert.equal(state.started, 2, 'only the two slots ran while the excess was refused');
        for (const refusal of refusals) {
          assert.ok('retryAfterSeconds' in refusal && typeof refusal.retryAfterSeconds === 'number' && refusal.retryAfterSeconds >= 1, `a refusal carries retryAfterSeconds: ${JSON.stringify(refusal)}`);
        }
        state.release();
        const replies = await Promise.all(burst);
        const served = replies.filter((r) => !isOverloaded(r));
        assert.equal(served.length, 5, 'the 2 running and the 3 queued are answered with their results');
        assert.deepEqual(counts.shed, { queue_full: 15 });
        assert.equal(counts.started, 5);
        // The burst is over: every request is answered with its result again.
        for (let i = 0; i < 10; i++) assert.deepEqual(await send(100 + i), { i: 100 + i });
      } finally {
        state.release();
        await server.stop();
      }
    });

    it('refuses queued requests that wait past the budget while every handler is busy', async () => {
      const { state, handler } = gated();
      const counts = shedCounter();
      const server = serveRequests(nc, 'rpc.expire', 'expire', handler, { logger, concurrency: 2, maxQueue: 50, maxQueueWaitMs: 50, metrics: counts.metrics });
      try {
        const burst = Array.from({ length: 20 }, (_, i) => request<Reply>(nc, 'rpc.expire', { i }, { timeoutMs: 20_000 }));
        // The handlers stay held, so the 18 past the first two can only be answered by the queue's own budget.
        const refused = await Promise.all(burst.slice(2));
        assert.ok(refused.every(isOverloaded), `every request behind the held ones is refused: ${JSON.stringify(refused.filter((r) => !isOverloaded(r)))}`);
        assert.equal(state.started, 2);
        assert.equal((counts.shed.queue_timeout ?? 0) + (counts.shed.standing_queue ?? 0), 18);
        state.release();
        assert.deepEqual(await Promise.all(burst.slice(0, 2)), [{ i: 0 }, { i: 1 }]);
      } finally {
        state.release();
        await server.stop();
      }
    });

    it('stop() runs the queued requests as well as the started ones before it returns', async () => {
      const { state, handler } = gated();
      const server = serveRequests(nc, 'rpc.drain-queued', 'dq', handler, { logger, concurrency: 2, maxQueue: 10, maxQueueWaitMs: 60_000 });
      const pending = Promise.all(Array.from({ length: 5 }, (_, i) => request<Reply>(nc, 'rpc.drain-queued', { i }, { timeoutMs: 20_000 })));
      while (state.started < 2) await new Promise((resolve) => setTimeout(resolve, 10));
      await nc.flush(); // the other three have reached the server, and so the responder's queue
      const stopping = server.stop();
      state.release();
      await stopping;
      assert.deepEqual(await pending, [0, 1, 2, 3, 4].map((i) => ({ i })));
    });
  });
});
