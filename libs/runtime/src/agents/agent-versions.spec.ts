import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ErrorCodes, KeelsonError } from '@keelson/contracts';
import { AgentFileRegistry, loadAgentFiles } from './agent-files';
import { AgentRegistry } from './agent-registry';
import { pickAgent, tallyRunCost, type RolloutPort } from './agent-rollouts';

const json = (id: string, version: string, model = 'offline-echo') =>
  JSON.stringify({
    id,
    version,
    description: 'An agent for tests',
    model: { provider: 'offline', name: model },
    systemPrompt: 'Be brief.',
    limits: { maxOutputTokens: 100, maxSteps: 1, timeoutMs: 1000 },
  });

const roots: string[] = [];
function agentsDir(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'agent-versions-'));
  roots.push(root);
  const dir = join(root, 'agents');
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}
after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

describe('agent versions side by side', () => {
  it('loads `<id>@<version>` files beside the plain file; the plain file stays the default', () => {
    const r = new AgentFileRegistry(agentsDir({ 'support.json': json('support', '1'), 'support@2.json': json('support', '2', 'offline-two') }), { watch: false });
    assert.equal(r.get('support')?.version, '1');
    assert.deepEqual(r.versions('support'), ['1', '2']);
    assert.equal(r.getVersion('support', '2')?.model.name, 'offline-two');
    assert.deepEqual(r.list().map((a) => a.id), ['support'], 'list() shows each agent once');
    assert.deepEqual(r.problems(), []);
    r.close();
  });

  it('without a plain file, the first versioned file by name is the default', () => {
    const set = loadAgentFiles(agentsDir({ 'support@2.json': json('support', '2'), 'support@1.json': json('support', '1') }));
    assert.deepEqual(set.agents.map((a) => a.definition.version), ['1']);
    assert.deepEqual(set.versions.map((a) => a.definition.version), ['2']);
  });

  it('refuses a versioned file whose name and content disagree, and a second file of one id and version', () => {
    const set = loadAgentFiles(
      agentsDir({ 'support.json': json('support', '2'), 'support@2.json': json('support', '2'), 'support@3.json': json('support', '4'), 'other@1.json': json('support', '1') }),
    );
    const problems = Object.fromEntries(set.problems.map((p) => [p.file, p.field]));
    assert.deepEqual(problems, { 'other@1.json': 'id', 'support@3.json': 'version', 'support@2.json': 'version' });
    assert.deepEqual(set.versions, []);
  });

  it('keeps refusing two plain files of one id, as before versioned files existed', () => {
    const set = loadAgentFiles(agentsDir({ 'a.json': json('alpha', '1'), 'b.json': json('alpha', '2') }));
    assert.deepEqual(set.problems.map((p) => [p.file, p.field]), [['b.json', 'id']]);
    assert.deepEqual(set.versions, []);
  });

  it('adds and removes versions on reload', () => {
    const dir = agentsDir({ 'support.json': json('support', '1') });
    const r = new AgentFileRegistry(dir, { watch: false });
    writeFileSync(join(dir, 'support@2.json'), json('support', '2'));
    r.reload();
    assert.deepEqual(r.versions('support'), ['1', '2']);
    unlinkSync(join(dir, 'support@2.json'));
    r.reload();
    assert.deepEqual(r.versions('support'), ['1']);
    assert.equal(r.getVersion('support', '2'), undefined);
    r.close();
  });

  it('AgentRegistry.addVersion adds a non-default version', () => {
    const r = new AgentRegistry([JSON.parse(json('support', '1'))]);
    r.addVersion(JSON.parse(json('support', '2')));
    assert.equal(r.get('support')?.version, '1');
    assert.equal(r.getVersion('support', '2')?.version, '2');
    assert.throws(() => r.addVersion(JSON.parse(json('support', '2'))), /already registered/);
    assert.throws(() => r.addVersion(JSON.parse(json('ghost', '2'))), /not registered/);
  });
});

describe('pickAgent', () => {
  const registry = new AgentRegistry([JSON.parse(json('support', '1'))]);
  registry.addVersion(JSON.parse(json('support', '2')));
  const port = (over: Partial<RolloutPort>): RolloutPort => ({ refusal: () => undefined, choose: () => undefined, record: async () => undefined, ...over });

  it('serves the default without a rollout, the chosen version with one, and the default when the chosen one is not loaded here', () => {
    const none = pickAgent(registry, port({}), 'dev', 'support', 'k');
    assert.equal(none.kind === 'ok' && none.agent.version, '1');
    const canary = pickAgent(registry, port({ choose: () => ({ version: '2', arm: 'canary', generation: 'g' }) }), 'dev', 'support', 'k');
    assert.equal(canary.kind === 'ok' && canary.agent.version, '2');
    assert.equal(canary.kind === 'ok' && canary.choice?.arm, 'canary');
    const unknown = pickAgent(registry, port({ choose: () => ({ version: '9', arm: 'canary', generation: 'g' }) }), 'dev', 'support', 'k');
    assert.equal(unknown.kind === 'ok' && unknown.agent.version, '1');
    assert.equal(unknown.kind === 'ok' && unknown.choice, undefined, 'a fallback is not counted for the version it did not run');
  });

  it('refuses before anything else when a kill switch is on', () => {
    const refused = pickAgent(registry, port({ refusal: () => new KeelsonError(503, ErrorCodes.agentDisabled, 'off') }), 'dev', 'support', 'k');
    assert.equal(refused.kind, 'refused');
    assert.equal(pickAgent(registry, undefined, 'dev', 'ghost', 'k').kind, 'missing');
  });
});

describe('tallyRunCost', () => {
  it('adds up the price of each call from its usage, and passes every call to the metering it wraps', async () => {
    const finished: unknown[] = [];
    const tally = tallyRunCost({ begin: async () => ({ onOutput: async () => undefined, finish: async (end) => void finished.push(end) }) });
    for (let i = 0; i < 2; i++) {
      const call = await tally.metering.begin({ provider: 'openai', request: { model: 'gpt-4o-mini', messages: [] }, callIndex: i });
      assert.ok(!('refused' in call));
      await call.finish({ status: 'completed', usage: { inputTokens: 1_000_000, outputTokens: 0, totalTokens: 1_000_000 } });
    }
    assert.equal(finished.length, 2);
    assert.equal(tally.costMicroUsd(), 2 * 150_000, 'gpt-4o-mini input is $0.15 per million tokens');
  });
});
