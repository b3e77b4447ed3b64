import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { Streams, UsageRecordSchema, UsageSubjects, type UsageRecord } from '@keelson/contracts';
import { BudgetLedger, BudgetStore, RateLimiter } from '@keelson/cost';
import { JetStreamPublisher, provisionStreams, silentLogger } from '@keelson/messaging';
import { metricsRegistry } from '@keelson/observability';
import { startNats, startRedis, type NatsServerHandle, type RedisServerHandle } from '@keelson/testing';
import { JSONCodec, connect, type NatsConnection } from 'nats';
import { createClient } from 'redis';
import { builtinAgents } from '../agents/builtin-agents';
import { OfflineModel } from '../model/offline-model';
import { ProviderRegistry } from '../model/provider';
import { runAgent } from '../run/run-agent';
import { RunError } from '../run/run-error';
import { UsageMeter } from './usage-meter';

const agent = builtinAgents()[0]!;
const providers = new ProviderRegistry([new OfflineModel()]);
const codec = JSONCodec<UsageRecord>();

describe('UsageMeter against real Redis and JetStream', () => {
  let nats: NatsServerHandle;
  let redisServer: RedisServerHandle;
  let nc: NatsConnection;
  let redis: ReturnType<typeof createClient>;
  let meter: UsageMeter;
  let budgets: BudgetStore;
  let n = 0;

  before(async () => {
    [nats, redisServer] = await Promise.all([startNats(), startRedis()]);
    nc = await connect({ servers: nats.url });
    await provisionStreams(nc, [Streams.usage]);
    redis = createClient({ url: redisServer.url });
    await redis.connect();
    budgets = new BudgetStore(redis);
    meter = new UsageMeter({
      ledger: new BudgetLedger(redis),
      budgets,
      publisher: new JetStreamPublisher(nc, { logger: silentLogger }),
      logger: silentLogger,
      rateLimits: { limiter: new RateLimiter(redis), rulesFor: () => [{ scope: 'tenant', kind: 'tokens', perMinute: 1_000_000 }] },
    });
  });
  after(async () => {
    await nc?.drain();
    await redis?.close();
    await Promise.all([nats?.stop(), redisServer?.stop()]);
  });

  const recordsOf = async (tenant: string): Promise<UsageRecord[]> => {
    const consumer = await nc.jetstream().consumers.get(Streams.usage.name, { filterSubjects: UsageSubjects.tenant(tenant) });
    const records: UsageRecord[] = [];
    for (;;) {
      const m = await consumer.next({ expires: 1_000 });
      if (!m) return records;
      records.push(codec.decode(m.data));
    }
  };

  it('publishes one usage record per model call, with the run\'s account, for a tenant without budgets', async () => {
    const tenant = `t${++n}`;
    const outcome = await runAgent({
      agent,
      messages: [{ role: 'user', content: 'hello there' }],
      providers,
      metering: meter.forRun({ tenant, agentId: agent.id, runId: 'ses_1:1', sessionId: 'ses_1', apiKeyId: 'key-1' }),
    });
    const records = await recordsOf(tenant);
    assert.equal(records.length, 1);
    const [record] = records;
    assert.equal(UsageRecordSchema.safeParse(record).success, true);
    assert.deepEqual(
      [record!.tenant, record!.agentId, record!.sessionId, record!.apiKeyId, record!.status, record!.estimated],
      [tenant, agent.id, 'ses_1', 'key-1', 'completed', false],
    );
    assert.equal(record!.outputTokens, outcome.usage.outputTokens, 'the provider\'s own figures');
    const text = await metricsRegistry().metrics();
    const who = `tenant="${tenant}",agent="${agent.id}"`;
    assert.match(text, new RegExp(`keelson_model_calls_total\\{${who},provider="${record!.provider}",model="${record!.model}",status="completed"\\} 1`));
    assert.match(text, new RegExp(`keelson_model_tokens_total\\{${who},model="${record!.model}",direction="output"\\} ${record!.outputTokens}`));
    assert.match(text, new RegExp(`keelson_model_cost_usd_total\\{${who},model="${record!.model}"\\} `));
    assert.match(text, new RegExp(`keelson_time_to_first_token_seconds_count\\{agent="${agent.id}",model="${record!.model}",execution_model="session"\\} 1`));
  });

  it('refuses a call when the tenant\'s budget has no room, naming it, and records nothing', async () => {
    const tenant = `t${++n}`;
    await budgets.set({ scope: { kind: 'tenant', tenant }, window: 'day', limitMicroUsd: 0, tokenLimit: 1 });
    const err = await runAgent({
      agent,
      messages: [{ role: 'user', content: 'hello' }],
      providers,
      metering: meter.forRun({ tenant, agentId: agent.id, runId: 'tsk_1', taskId: 'tsk_1' }),
    }).catch((e: unknown) => e);
    assert.ok(err instanceof RunError && err.code === 'budget_exceeded', String(err));
    assert.equal(err.budget?.scope, 'tenant');
    assert.equal(err.budget?.window, 'day');
    assert.match(err.message, /exhausted/);
    assert.deepEqual(await recordsOf(tenant), []);
    assert.match(await metricsRegistry().metrics(), new RegExp(`keelson_budget_refusals_total\\{tenant="${tenant}",scope="tenant",window="day"\\} 1`));
  });
});
