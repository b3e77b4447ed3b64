import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import type { AuditDraft, AuditSink } from '@keelson/audit';
import { AUDIT_TRAIL } from '@keelson/nest-kit';
import { AgentRegistry, builtinAgents } from '@keelson/runtime';
import { RolloutControl, RolloutStore, type RolloutRedis } from '@keelson/state';
import { freePort, startNats, startRedis, type NatsServerHandle, type RedisServerHandle } from '@keelson/testing';
import { AgentCatalog } from '../agents/agent-catalog';
import { InvokeController } from '../agents/invoke.controller';
import { GatewayAudit } from '../auditing/gateway-audit';
import type { GatewayConfig } from '../config';
import { BudgetGate } from '../cost/budget-gate';
import { GATEWAY_CONFIG } from '../gateway.tokens';
import { startRouteTestGateway, type RouteTestGateway } from '../testing/route-test-gateway';
import { KillSwitchesController, RolloutsController } from './rollouts.controller';
import { RolloutEvaluator } from './rollout-evaluator';

const OPS = 'ks_test_rollouts_ops';
const DEV = 'ks_test_rollouts_dev';
const ACME = 'ks_test_rollouts_acme';

/**
 * The admin API of rollouts and kill switches, and the invoke route refusing under a kill switch, over real
 * HTTP, Redis and NATS (no session-agent: an invoke that gets past the gateway finds no responder).
 */
describe('gateway rollout and kill-switch routes', () => {
  let nats: NatsServerHandle;
  let redis: RedisServerHandle;
  let client: ReturnType<typeof createClient>;
  let gateway: RouteTestGateway;
  let store: RolloutStore;
  let control: RolloutControl;
  const audit: AuditDraft[] = [];

  before(async () => {
    nats = await startNats();
    redis = await startRedis();
    client = createClient({ url: redis.url });
    await client.connect();
    store = new RolloutStore(client as unknown as RolloutRedis);
    control = new RolloutControl(store, { refreshMs: 100 });
    await control.start();
    const registry = new AgentRegistry(builtinAgents());
    registry.addVersion({ ...builtinAgents()[0]!, version: '2' });
    const catalog = new AgentCatalog(registry);
    catalog.useKillSwitches(control);
    const sink: AuditSink = { record: async (draft: AuditDraft) => void audit.push(draft) } as unknown as AuditSink;
    const config = { OPS_OPERATOR_TENANTS: ['ops'], INVOKE_TIMEOUT_MS: 300 } as unknown as GatewayConfig;
    gateway = await startRouteTestGateway({
      name: 'gateway-rollouts-test',
      natsUrl: nats.url,
      port: await freePort(),
      controllers: [InvokeController, RolloutsController, KillSwitchesController],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        { provide: AgentCatalog, useValue: catalog },
        { provide: RolloutStore, useValue: store },
        { provide: RolloutControl, useValue: control },
        { provide: AUDIT_TRAIL, useValue: sink },
        { provide: BudgetGate, useValue: { check: async () => undefined } },
        GatewayAudit,
      ],
      keys: { ops: OPS, dev: DEV, acme: ACME },
      scopes: { dev: ['admin', 'invoke'] },
    });
  });

  after(async () => {
    control?.stop();
    await gateway?.close();
    await client?.close();
    await redis?.stop();
    await nats?.stop();
  });

  const put = (path: string, body: unknown, key = OPS) => gateway.call(path, { method: 'PUT', body: JSON.stringify(body), key });
  /** Got past the gateway's checks: NATS answered that no agent listens (503 unavailable) or timed out (504). */
  const reached = async (key: string) => {
    const res = await invoke(key);
    return res.body?.error?.code === 'unavailable' || res.body?.error?.code === 'timeout';
  };
  const invoke = (key: string) => gateway.call('/v1/agents/assistant/invoke', { method: 'POST', body: JSON.stringify({ input: 'hi' }), key });

  it('lets only an operator tenant touch rollouts and kill switches (403 for a tenant admin)', async () => {
    assert.equal((await gateway.call('/v1/rollouts', { key: DEV })).status, 403);
    assert.equal((await put('/v1/kill-switches/agent/assistant', { reason: 'x' }, DEV)).status, 403);
    assert.equal((await gateway.call('/v1/rollouts')).status, 200);
  });

  it('starts a rollout only between loaded versions, shows its numbers, and audits it', async () => {
    const bad = await put('/v1/rollouts/assistant', { stable: '1', canary: '9', canaryShare: 0.1 });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.field, 'canary');
    const res = await put('/v1/rollouts/assistant', { stable: '1', canary: '2', canaryShare: 0.25, thresholds: { maxErrorRate: 0.1, minRuns: 5 } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.state, 'running');
    assert.equal(res.body.outcomes.canary.runs, 0);
    const generation = res.body.generation;
    const changed = await put('/v1/rollouts/assistant', { stable: '1', canary: '2', canaryShare: 0.5 });
    assert.equal(changed.body.generation, generation, 'changing the share keeps the counters');
    assert.equal(changed.body.thresholds.minRuns, 5, 'thresholds not sent are kept');
    assert.ok(audit.some((e) => e.type === 'admin.rollout_set' && e.tenant === 'ops' && e.actor?.id === 'key-ops'));
    const one = await gateway.call('/v1/rollouts/assistant');
    assert.equal(one.body.canaryShare, 0.5);
    assert.equal((await gateway.call('/v1/rollouts/ghost')).status, 404);
  });

  it('rolls back automatically once the canary crosses a threshold, recording the numbers', async () => {
    const rollout = await store.get('assistant');
    for (let i = 0; i < 5; i++) await store.record('assistant', rollout!.generation, '2', i > 2, 0);
    const evaluator = new RolloutEvaluator(store, control, { record: async (d: AuditDraft) => void audit.push(d) } as unknown as AuditSink, { warn: () => undefined, error: () => undefined, info: () => undefined, debug: () => undefined } as never, { intervalMs: 1_000, auditTenant: 'ops' });
    await control.refresh();
    assert.deepEqual(await evaluator.tick(), ['assistant']);
    assert.deepEqual(await evaluator.tick(), [], 'once');
    const view = await gateway.call('/v1/rollouts/assistant');
    assert.equal(view.body.state, 'rolled_back');
    assert.equal(view.body.canaryShare, 0);
    const event = audit.find((e) => e.type === 'admin.rollout_rolled_back');
    assert.equal(event?.actor?.kind, 'system');
    assert.deepEqual((event?.data as { canaryOutcomes: { runs: number; failures: number } }).canaryOutcomes.failures, 3);
    assert.equal((await gateway.post('/v1/rollouts/assistant/promote', {})).status, 409, 'a rolled-back rollout cannot be promoted');
    const again = await put('/v1/rollouts/assistant', { stable: '1', canary: '2', canaryShare: 0.1 });
    assert.notEqual(again.body.generation, rollout!.generation, 'a new start after a rollback counts afresh');
    const promoted = await gateway.post('/v1/rollouts/assistant/promote', { reason: 'looks good' });
    assert.equal(promoted.status, 200);
    assert.equal(promoted.body.stable, '2');
    assert.equal(promoted.body.state, 'promoted');
  });

  it('refuses invokes 503 agent_disabled / tenant_suspended while a switch is on, on this replica at once, and audits each change', async () => {
    assert.equal(await reached(DEV), true, 'before: the request reaches NATS (no agent answers here)');
    const set = await put('/v1/kill-switches/agent/assistant', { reason: 'incident 12' });
    assert.equal(set.status, 200);
    const refused = await invoke(DEV);
    assert.equal(refused.status, 503);
    assert.equal(refused.body.error.code, 'agent_disabled');
    assert.match(refused.body.error.message, /incident 12/);
    assert.equal((await gateway.call('/v1/kill-switches/agent/assistant', { method: 'DELETE' })).status, 200);
    assert.equal((await gateway.call('/v1/kill-switches/agent/assistant', { method: 'DELETE' })).status, 404);
    assert.equal(await reached(DEV), true);

    await put('/v1/kill-switches/tenant/acme', { reason: 'suspended for abuse' });
    const suspended = await gateway.call('/v1/agents/assistant/invoke', { method: 'POST', body: JSON.stringify({ input: 'hi' }), key: ACME });
    assert.equal(suspended.status, 503);
    assert.equal(suspended.body.error.code, 'tenant_suspended');
    assert.equal(await reached(DEV), true, 'another tenant is not affected');
    const list = await gateway.call('/v1/kill-switches');
    assert.deepEqual(list.body.killSwitches.map((s: { kind: string; id: string }) => `${s.kind}:${s.id}`), ['tenant:acme']);
    assert.equal((await put('/v1/kill-switches/planet/x', { reason: 'x' })).status, 400);
    assert.equal((await put('/v1/kill-switches/agent/assistant', {})).status, 400, 'a reason is required');
    assert.deepEqual(
      audit.filter((e) => e.type.startsWith('admin.kill_switch')).map((e) => e.type),
      ['admin.kill_switch_set', 'admin.kill_switch_cleared', 'admin.kill_switch_set'],
    );
  });
});
