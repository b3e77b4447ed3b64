import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Module, type INestApplication } from '@nestjs/common';
import { AuditStream, UsageStream, UsageSubjects, type AuditEvent, type UsageRecord } from '@keelson/contracts';
import { BudgetLedger, usageRecord, type UsageRecordInput } from '@keelson/cost';
import { InfraModule, bootstrapService, toErrorResponse } from '@keelson/nest-kit';
import { createLogger } from '@keelson/observability';
import { freePort, sleep, startNats, startRedis, waitFor, type NatsServerHandle, type RedisServerHandle } from '@keelson/testing';
import { JSONCodec, connect, type NatsConnection } from 'nats';
import { createClient } from 'redis';
import { hashApiKey } from '../auth/api-keys';
import { testAuthProviders } from '../testing/test-auth';
import { BudgetGate } from './budget-gate';
import { UsageReader } from './usage-reader';
import { parseRateLimitSettings } from '@keelson/cost';
import { costControllers, costProviders } from './cost.providers';

const KEY_1 = 'ks_test_cost_dev_1';
const KEY_2 = 'ks_test_cost_dev_2';
const OTHER_KEY = 'ks_test_cost_other';
const LIMITED_KEY = 'ks_test_cost_limited';
const EMPTY_KEY = 'ks_test_cost_empty';

/**
 * The cost routes over real HTTP, NATS and Redis: mounted with the gateway's own guard, error filter and
 * bootstrap (bootstrapService), but not through GatewayModule, which registers them separately.
 */
describe('gateway cost routes', () => {
  let nats: NatsServerHandle;
  let redisServer: RedisServerHandle;
  let redis: ReturnType<typeof createClient>;
  let nc: NatsConnection;
  let gateway: INestApplication;
  let base: string;
  let dir: string;

  const call = async (path: string, init: RequestInit & { key?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    if (init.key !== null) headers.set('authorization', `Bearer ${init.key ?? KEY_1}`);
    if (typeof init.body === 'string') headers.set('content-type', 'application/json');
    const res = await fetch(`${base}${path}`, { ...init, headers });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as any) : undefined };
  };
  const put = (body: unknown, key?: string) => call('/v1/budgets', { method: 'PUT', body: JSON.stringify(body), ...(key ? { key } : {}) });

  before(async () => {
    [nats, redisServer] = await Promise.all([startNats(), startRedis()]);
    dir = mkdtempSync(join(tmpdir(), 'keelson-gw-cost-'));
    const keysFile = join(dir, 'api-keys.json');
    writeFileSync(
      keysFile,
      JSON.stringify({
        keys: [
          { id: 'k1', tenant: 'dev', sha256: hashApiKey(KEY_1) },
          { id: 'k2', tenant: 'dev', sha256: hashApiKey(KEY_2) },
          { id: 'o1', tenant: 'other', sha256: hashApiKey(OTHER_KEY) },
          { id: 'l1', tenant: 'limited', sha256: hashApiKey(LIMITED_KEY) },
          { id: 'e1', tenant: 'empty', sha256: hashApiKey(EMPTY_KEY) },
        ],
      }),
    );
    const settings = parseRateLimitSettings({ RATE_LIMITS_BY_TENANT: '{"limited":{"tenantRpm":3}}' });
    const logger = createLogger({ service: 'gateway-cost-test', level: 'error' });
    @Module({
      imports: [InfraModule.forRoot({ serviceName: 'gateway-cost-test', natsUrl: nats.url, redisUrl: redisServer.url, streams: [UsageStream], logger })],
      controllers: costControllers,
      providers: [...testAuthProviders(keysFile), ...costProviders(settings)],
    })
    class CostTestModule {}
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    gateway = await bootstrapService({ name: 'gateway-cost-test', module: CostTestModule, port, host: '127.0.0.1', logger });
    nc = await connect({ servers: nats.url });
    redis = createClient({ url: redisServer.url });
    await redis.connect();
  });

  after(async () => {
    await redis?.close();
    await nc?.close();
    await gateway?.close();
    await Promise.all([nats?.stop(), redisServer?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  /** The audit events the gateway recorded on KEELSON_AUDIT under `filter`, in order. */
  async function auditEvents(filter: string): Promise<AuditEvent[]> {
    const info = await (await nc.jetstreamManager()).streams.info(AuditStream.name, { subjects_filter: filter });
    const stored = Object.values(info.state.subjects ?? {}).reduce((sum, n) => sum + n, 0);
    const out: AuditEvent[] = [];
    if (stored === 0) return out;
    const consumer = await nc.jetstream().consumers.get(AuditStream.name, { filterSubjects: filter });
    const batch = await consumer.fetch({ max_messages: stored, expires: 5_000 });
    for await (const m of batch) out.push(JSONCodec<AuditEvent>().decode(m.data));
    return out;
  }

  it('refuses every cost route without an API key', async () => {
    for (const path of ['/v1/usage', '/v1/budgets']) assert.equal((await call(path, { key: null })).status, 401, path);
  });

  describe('GET /v1/usage', () => {
    const record = (over: Partial<UsageRecordInput> & Pick<UsageRecordInput, 'agentId' | 'model' | 'inputTokens' | 'outputTokens'>): UsageRecord =>
      usageRecord({
        tenant: 'dev',
        runId: 'run_usage',
        callIndex: ++calls,
        provider: over.model.startsWith('offline') ? 'offline' : over.model.startsWith('claude') ? 'anthropic' : 'openai',
        status: 'completed',
        estimated: false,
        ...over,
      });
    let calls = 0;
    let r: UsageRecord[] = [];
    let between: Date;
    let foreign: UsageRecord;

    const publish = async (records: UsageRecord[]) => {
      const js = nc.jetstream();
      for (const rec of records) await js.publish(UsageSubjects.record(rec.tenant, rec.agentId), JSONCodec().encode(rec), { msgID: rec.id });
    };
    const ids = (records: { id: string }[]) => records.map((x) => x.id);

    before(async () => {
      r = [
        record({ agentId: 'a1', apiKeyId: 'k1', model: 'gpt-4o-mini', inputTokens: 1_000, outputTokens: 500, cachedInputTokens: 200 }),
        record({ agentId: 'a2', apiKeyId: 'k2', model: 'gpt-4o', inputTokens: 2_000, outputTokens: 100, estimated: true, status: 'cancelled' }),
        record({ agentId: 'a1', apiKeyId: 'k2', model: 'offline-echo', inputTokens: 30, outputTokens: 40 }),
        record({ agentId: 'a1', apiKeyId: 'k1', model: 'gpt-4o-mini', inputTokens: 10_000, outputTokens: 2_000 }),
        record({ agentId: 'a2', apiKeyId: 'k1', model: 'claude-3-5-haiku', inputTokens: 700, outputTokens: 300 }),
      ];
      foreign = usageRecord({ tenant: 'other', agentId: 'a1', apiKeyId: 'o1', runId: 'run_other', callIndex: 0, provider: 'openai', model: 'gpt-4o', inputTokens: 5, outputTokens: 5, status: 'completed', estimated: false });
      await publish([r[0]!, foreign, r[1]!, r[2]!]);
      await sleep(50);
      between = new Date();
      await sleep(50);
      // A re-published record (same Nats-Msg-Id) is stored once, so it is counted once.
      await publish([r[3]!, r[4]!, foreign, r[0]!]);
    });

    it('answers an empty page for a tenant with no usage, without waiting', async () => {
      const started = Date.now();
      const res = await call('/v1/usage', { key: EMPTY_KEY });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.records, []);
      assert.equal(res.body.truncated, false);
      assert.equal(res.body.totals.calls, 0);
      assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`);
    });

    it('returns the tenant\'s records in order with exact totals, and never another tenant\'s', async () => {
      const res = await call('/v1/usage');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.records, r);
      assert.equal(res.body.truncated, false);
      assert.equal(res.body.nextCursor, undefined);
      assert.deepEqual(res.body.routing, { decisions: 0, byTier: {}, byReason: {}, pinned: 0, downgraded: 0 }, 'no routed calls in this tenant');
      const cost = r.reduce((sum, x) => sum + x.costMicroUsd, 0);
      assert.ok(r[0]!.costMicroUsd > 0 && r[2]!.costMicroUsd === 0 && !r[2]!.unpriced, 'fixture: priced and free (offline) calls');
      const { byModel, byAgent, ...sums } = res.body.totals;
      assert.deepEqual(sums, {
        calls: 5,
        inputTokens: 13_730,
        outputTokens: 2_940,
        cachedInputTokens: 200,
        costMicroUsd: cost,
        costUsd: cost / 1e6,
        estimatedCalls: 1,
        unpricedCalls: 0,
      });
      assert.deepEqual(Object.keys(byModel).sort(), ['anthropic/claude-3-5-haiku', 'offline/offline-echo', 'openai/gpt-4o', 'openai/gpt-4o-mini']);
      assert.equal(byModel['openai/gpt-4o-mini'].calls, 2);
      assert.equal(byModel['openai/gpt-4o-mini'].inputTokens, 11_000);
      assert.equal(byModel['openai/gpt-4o-mini'].costMicroUsd, r[0]!.costMicroUsd + r[3]!.costMicroUsd);
      assert.deepEqual(
        [byAgent.a1.calls, byAgent.a1.costMicroUsd, byAgent.a2.calls, byAgent.a2.costMicroUsd],
        [3, r[0]!.costMicroUsd + r[3]!.costMicroUsd, 2, r[1]!.costMicroUsd + r[4]!.costMicroUsd],
      );
      const other = await call('/v1/usage', { key: OTHER_KEY });
      assert.deepEqual(ids(other.body.records), [foreign.id], 'the other tenant sees its own call, once');
      assert.ok(other.body.records.every((x: UsageRecord) => x.tenant === 'other'));
    });

    it('filters by agent (subject) and by API key (field), alone and together', async () => {
      const cases: [string, UsageRecord[]][] = [
        ['agent=a1', [r[0]!, r[2]!, r[3]!]],
        ['agent=a2', [r[1]!, r[4]!]],
        ['key=k1', [r[0]!, r[3]!, r[4]!]],
        ['agent=a1&key=k2', [r[2]!]],
        ['agent=nobody', []],
      ];
      for (const [query, expected] of cases) {
        const res = await call(`/v1/usage?${query}`);
        assert.equal(res.status, 200, query);
        assert.deepEqual(ids(res.body.records), ids(expected), query);
        assert.equal(res.body.totals.calls, expected.length, query);
        assert.equal(res.body.totals.costMicroUsd, expected.reduce((s, x) => s + x.costMicroUsd, 0), query);
      }
    });

    it('limits the range with from (inclusive) and to (exclusive), by stream time', async () => {
      const after = await call(`/v1/usage?from=${encodeURIComponent(between.toISOString())}`);
      assert.deepEqual(ids(after.body.records), ids([r[3]!, r[4]!]));
      const before = await call(`/v1/usage?to=${encodeURIComponent(between.toISOString())}`);
      assert.deepEqual(ids(before.body.records), ids([r[0]!, r[1]!, r[2]!]));
      assert.equal(before.body.truncated, false);
      const future = await call(`/v1/usage?from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
      assert.deepEqual(future.body.records, []);
    });

    it('pages with limit and nextCursor, each page with its own totals, together the whole range', async () => {
      const pages = [];
      let cursor: string | undefined;
      do {
        const res = await call(`/v1/usage?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(res.status, 200);
        pages.push(res.body);
        cursor = res.body.nextCursor;
        assert.equal(res.body.truncated, cursor !== undefined);
      } while (cursor && pages.length < 10);
      assert.deepEqual(pages.map((p) => ids(p.records)), [ids([r[0]!, r[1]!]), ids([r[2]!, r[3]!]), ids([r[4]!])]);
      assert.deepEqual(pages.map((p) => p.totals.calls), [2, 2, 1]);
      assert.equal(pages.reduce((s, p) => s + p.totals.costMicroUsd, 0), r.reduce((s, x) => s + x.costMicroUsd, 0));
      // A key filter skips other keys' records but still pages by matches.
      const k1 = await call('/v1/usage?key=k1&limit=1');
      assert.deepEqual(ids(k1.body.records), [r[0]!.id]);
      const next = await call(`/v1/usage?key=k1&limit=5&cursor=${k1.body.nextCursor}`);
      assert.deepEqual(ids(next.body.records), ids([r[3]!, r[4]!]));
    });

    it('answers 400 naming the bad parameter', async () => {
      const cases: [string, string][] = [
        ['from=yesterday', 'from'],
        ['to=2026-11-27T25:00:00Z', 'to'],
        ['from=2026-11-02&to=2026-11-01', 'to'],
        ['limit=0', 'limit'],
        ['limit=1001', 'limit'],
        ['cursor=abc', 'cursor'],
        ['agent=a.%3E', 'agent'],
      ];
      for (const [query, field] of cases) {
        const res = await call(`/v1/usage?${query}`);
        assert.equal(res.status, 400, query);
        assert.equal(res.body.error.code, 'validation_failed', query);
        assert.equal(res.body.error.field, field, query);
      }
    });
  });

  describe('budgets', () => {
    it('creates, lists, pre-checks and deletes budgets of the caller\'s tenant', async () => {
      assert.deepEqual((await call('/v1/budgets')).body, { budgets: [] });

      const month = await put({ scope: 'tenant', window: 'month', limitUsd: 1.5 });
      assert.equal(month.status, 200);
      assert.equal(month.body.scope, 'tenant');
      assert.equal(month.body.window, 'month');
      assert.equal(month.body.limitMicroUsd, 1_500_000);
      assert.equal(month.body.remainingMicroUsd, 1_500_000);
      assert.ok(Date.parse(month.body.resetsAt) > Date.now(), `resetsAt ${month.body.resetsAt}`);

      const agentDay = await put({ scope: 'agent', scopeId: 'a1', window: 'day', limitUsd: 0.000002, tokenLimit: 100 });
      assert.equal(agentDay.status, 200);
      assert.deepEqual(
        [agentDay.body.scopeId, agentDay.body.limitMicroUsd, agentDay.body.tokenLimit, agentDay.body.spentMicroUsd],
        ['a1', 2, 100, 0],
      );

      const listed = await call('/v1/budgets');
      assert.deepEqual(listed.body.budgets.map((b: any) => [b.scope, b.scopeId, b.window]), [['tenant', undefined, 'month'], ['agent', 'a1', 'day']]);
      assert.deepEqual((await call('/v1/budgets', { key: OTHER_KEY })).body, { budgets: [] }, 'another tenant sees none of them');

      // The pre-check passes while there is room, and refuses with 402 naming the budget once it is spent.
      const gate = gateway.get(BudgetGate);
      await gate.check('dev', 'a1', 'k1');
      const ledger = new BudgetLedger(redis);
      const scopes = [{ kind: 'tenant' as const, tenant: 'dev' }, { kind: 'agent' as const, tenant: 'dev', agentId: 'a1' }];
      assert.equal((await ledger.reserve({ scopes, estimateMicroUsd: 2, reservationId: 'res-1', ttlMs: 60_000 })).kind, 'reserved');
      await ledger.settle('dev', 'res-1', 2, 10);
      await gate.check('dev', 'a2', 'k1');
      const refused = await gate.check('dev', 'a1', 'k1').then(
        () => assert.fail('expected a 402'),
        (err: unknown) => toErrorResponse(err),
      );
      assert.equal(refused.status, 402);
      assert.equal(refused.body.error.code, 'budget_exceeded');
      assert.deepEqual(
        { ...refused.body.error.budget, resetsAt: undefined },
        { scope: 'agent', scopeId: 'a1', window: 'day', limitMicroUsd: 2, spentMicroUsd: 2, reservedMicroUsd: 0, remainingMicroUsd: 0, resetsAt: undefined, tokenLimit: 100, spentTokens: 10, reservedTokens: 0 },
      );
      assert.match(refused.body.error.message, /day budget of the agent a1 is exhausted \(0\.000000 USD left; resets at /);
      const spent = (await call('/v1/budgets')).body.budgets;
      assert.deepEqual(spent.map((b: any) => [b.spentMicroUsd, b.remainingMicroUsd]), [[2, 1_499_998], [2, 0]]);

      // Replacing a limit keeps the spend of the window; the gate sees the change at once on this replica.
      assert.equal((await put({ scope: 'agent', scopeId: 'a1', window: 'day', limitUsd: 1 })).body.remainingMicroUsd, 999_998);
      await gate.check('dev', 'a1', 'k1');

      assert.equal((await call('/v1/budgets/agent/day?scopeId=a1', { method: 'DELETE' })).status, 204);
      const again = await call('/v1/budgets/agent/day?scopeId=a1', { method: 'DELETE' });
      assert.equal(again.status, 404);
      assert.equal(again.body.error.code, 'not_found');
      assert.equal((await call('/v1/budgets/tenant/month', { method: 'DELETE', key: OTHER_KEY })).status, 404, 'not the other tenant\'s to delete');
      assert.equal((await call('/v1/budgets/tenant/month', { method: 'DELETE' })).status, 204);
      assert.deepEqual((await call('/v1/budgets')).body, { budgets: [] });

      // Every change is an audit event with the key that made it; the refusal is one too.
      const admin = await auditEvents('keelson.audit.dev.admin');
      assert.deepEqual(admin.map((e) => e.type), ['admin.budget_set', 'admin.budget_set', 'admin.budget_set', 'admin.budget_deleted', 'admin.budget_deleted']);
      assert.ok(admin.every((e) => e.actor.kind === 'api_key' && e.actor.id === 'k1' && e.service === 'gateway-cost-test'));
      assert.deepEqual(admin[3]!.data, { scope: { kind: 'agent', tenant: 'dev', agentId: 'a1' }, window: 'day' });
      const refusals = await auditEvents('keelson.audit.dev.policy');
      assert.deepEqual(refusals.map((e) => [e.type, e.agentId, e.data['decision']]), [['policy.budget', 'a1', 'refused']]);
    });

    it('answers 400 naming the field for a bad budget', async () => {
      const cases: [unknown, string][] = [
        [{ scope: 'agent', window: 'day', limitUsd: 1 }, 'scopeId'],
        [{ scope: 'tenant', scopeId: 'a1', window: 'day', limitUsd: 1 }, 'scopeId'],
        [{ scope: 'tenant', window: 'day', limitUsd: -0.5 }, 'limitUsd'],
        [{ scope: 'tenant', window: 'week', limitUsd: 1 }, 'window'],
      ];
      for (const [body, field] of cases) {
        const res = await put(body);
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(res.body.error.field, field, JSON.stringify(body));
      }
      const del = await call('/v1/budgets/key/day', { method: 'DELETE' });
      assert.equal(del.status, 400);
      assert.equal(del.body.error.field, 'scopeId');
      assert.equal((await call('/v1/budgets/team/day', { method: 'DELETE' })).body.error.field, 'scope');
    });
  });

  describe('rate limits', () => {
    it('answers 429 with Retry-After and the limit once a tenant\'s requests per minute are used up', async () => {
      for (let i = 0; i < 3; i++) assert.equal((await call('/v1/budgets', { key: LIMITED_KEY })).status, 200, `request ${i + 1} of 3`);
      const refused = await call('/v1/budgets', { key: LIMITED_KEY });
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get('retry-after'), '20', '3 per minute: one more every 20 s');
      assert.deepEqual(refused.body, {
        error: {
          code: 'rate_limited',
          message: "the tenant's limit of 3 requests per minute is used up; retry after 20 s",
          limit: { scope: 'tenant', kind: 'requests', perMinute: 3 },
        },
      });
      assert.equal((await call('/v1/usage', { key: LIMITED_KEY })).status, 429, 'every authenticated route counts');
      assert.equal((await call('/v1/budgets')).status, 200, 'another tenant is not limited');
      const recorded = await waitFor(async () => {
        const events = await auditEvents('keelson.audit.limited.policy');
        return events.length === 2 ? events : undefined;
      }, { description: 'two policy.rate_limit audit events', timeoutMs: 5_000 });
      assert.deepEqual(recorded.map((e) => [e.type, e.actor.id]), [['policy.rate_limit', 'l1'], ['policy.rate_limit', 'l1']]);
    });

    it('touches no Redis key for a tenant without limits', async () => {
      await call('/v1/budgets');
      assert.deepEqual(await redis.keys('keelson:rate:{dev}*'), []);
      assert.notDeepEqual(await redis.keys('keelson:rate:{limited}*'), []);
    });
  });

  it('reads an empty page when the usage stream does not exist', async () => {
    const bare = await startNats();
    const bareNc = await connect({ servers: bare.url });
    try {
      const page = await new UsageReader(bareNc).read('dev', { limit: 10 });
      assert.deepEqual([page.records, page.truncated, page.totals.calls], [[], false, 0]);
    } finally {
      await bareNc.close();
      await bare.stop();
    }
  });
});
