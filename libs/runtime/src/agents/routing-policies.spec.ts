import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { EXAMPLE_POLICY } from '@keelson/cost';
import { AgentDefinitionError, parseAgentDefinition } from './agent-definition';
import { AgentFileRegistry, loadAgentFiles, type AgentFileLogger } from './agent-files';
import { AgentRegistry } from './agent-registry';
import { builtinAgents } from './builtin-agents';
import { parseRoutingPolicy } from './routing-policies';

const agent = (id: string, model: Record<string, unknown>, version = '1') =>
  JSON.stringify({
    id,
    version,
    description: 'routed',
    model,
    systemPrompt: 'Be brief.',
    limits: { maxOutputTokens: 100, maxSteps: 1, timeoutMs: 1000 },
  });

const policy = (name: string, version = '1', override: Record<string, unknown> = {}) =>
  JSON.stringify({
    name,
    version,
    tiers: [
      { name: 'small', minScore: 0, candidates: [{ provider: 'openai', model: 'gpt-4o-mini' }] },
      { name: 'large', minScore: 40, candidates: [{ provider: 'openai', model: 'gpt-4.1' }] },
    ],
    ...override,
  });

const roots: string[] = [];
const registries: AgentFileRegistry[] = [];
/** `agents/` with agent files and `agents/routing/` with policy files. */
function agentsDir(agents: Record<string, string>, policies: Record<string, string> = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'routing-files-'));
  roots.push(root);
  const dir = join(root, 'agents');
  mkdirSync(join(dir, 'routing'), { recursive: true });
  for (const [name, text] of Object.entries(agents)) writeFileSync(join(dir, name), text);
  for (const [name, text] of Object.entries(policies)) writeFileSync(join(dir, 'routing', name), text);
  return dir;
}
const registry = (dir: string, logger?: AgentFileLogger) => {
  const r = new AgentFileRegistry(dir, { watch: false, ...(logger ? { logger } : {}) });
  registries.push(r);
  return r;
};

afterEach(() => {
  for (const r of registries.splice(0)) r.close();
  for (const d of roots.splice(0)) rmSync(d, { recursive: true, force: true });
});

const fieldOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AgentDefinitionError, String(err));
    return err.field;
  }
  assert.fail('expected a refusal');
};

describe('the model field', () => {
  const def = (model: unknown) => ({ ...builtinAgents()[0]!, model });
  it('takes a fixed model with an optional temperature, or a routing policy by name', () => {
    assert.deepEqual(parseAgentDefinition(def({ provider: 'openai', name: 'gpt-4o', temperature: 0 })).model, { provider: 'openai', name: 'gpt-4o', temperature: 0 });
    assert.deepEqual(parseAgentDefinition(def({ routing: 'balanced', temperature: 0.2 })).model, { routing: 'balanced', temperature: 0.2 });
  });
  it('refuses both at once, neither, a temperature out of 0..2 and unknown keys, naming the field', () => {
    assert.equal(fieldOf(() => parseAgentDefinition(def({ routing: 'balanced', provider: 'openai' }))), 'model.provider');
    assert.equal(fieldOf(() => parseAgentDefinition(def({ name: 'gpt-4o' }))), 'model.provider');
    assert.equal(fieldOf(() => parseAgentDefinition(def({ provider: 'openai', name: 'x', temperature: 2.5 }))), 'model.temperature');
    assert.equal(fieldOf(() => parseAgentDefinition(def({ routing: 'Bad Name' }))), 'model.routing');
    assert.equal(fieldOf(() => parseAgentDefinition(def({ routing: 'balanced', temp: 0 }))), 'model');
  });
  it('registers an agent naming the built-in balanced policy, and refuses an unknown one naming model.routing', () => {
    const agents = new AgentRegistry();
    agents.register(def({ routing: 'balanced' }));
    assert.equal(agents.policy('balanced'), EXAMPLE_POLICY);
    assert.equal(fieldOf(() => new AgentRegistry().register({ ...def({ routing: 'nope' }), id: 'other' })), 'model.routing');
  });
});

describe('routing policy files', () => {
  it('validates the schema and then the policy\'s own rules, naming the field', () => {
    assert.equal(fieldOf(() => parseRoutingPolicy(JSON.parse(policy('p', '1', { tiers: 'none' })), 'x')), 'tiers');
    assert.equal(fieldOf(() => parseRoutingPolicy(JSON.parse(policy('p', '1', { stickySessions: 'yes' })), 'x')), 'stickySessions');
    const rising = { tiers: [{ name: 'a', minScore: 0, candidates: [{ provider: 'o', model: 'm' }] }, { name: 'b', minScore: 0, candidates: [{ provider: 'o', model: 'n' }] }] };
    assert.equal(fieldOf(() => parseRoutingPolicy(JSON.parse(policy('p', '1', rising)), 'x')), 'tiers.1.minScore');
    assert.equal(fieldOf(() => parseRoutingPolicy(JSON.parse(policy('p', '1', { tiers: [{ name: 'a', minScore: 0, candidates: [] }] })), 'x')), 'tiers.0.candidates');
    assert.equal(fieldOf(() => parseRoutingPolicy(JSON.parse(policy('p')), 'x', 'q')), 'name');
    assert.equal(parseRoutingPolicy(JSON.parse(policy('p')), 'x').stickySessions, true, 'sticky by default');
  });

  it('loads routing/<name>.json next to the agents; a file may replace the built-in balanced', () => {
    const dir = agentsDir(
      { 'a.json': agent('alpha', { routing: 'fast' }), 'b.json': agent('beta', { routing: 'balanced' }) },
      { 'fast.json': policy('fast'), 'balanced.json': policy('balanced', '7') },
    );
    const r = registry(dir);
    assert.deepEqual(r.problems(), []);
    assert.deepEqual([r.has('alpha'), r.has('beta')], [true, true]);
    assert.equal(r.policy('balanced')?.version, '7');
    assert.deepEqual(r.policyNames(), ['balanced', 'fast']);
    assert.deepEqual(loadAgentFiles(dir).policies.map((p) => p.source).sort(), ['agents/routing/balanced.json', 'agents/routing/fast.json']);
  });

  it('refuses an invalid policy file naming the field, and keeps serving its last good version', () => {
    const dir = agentsDir({ 'a.json': agent('alpha', { routing: 'fast' }) }, { 'fast.json': policy('fast', '1') });
    const warnings: Record<string, unknown>[] = [];
    const r = registry(dir, { info: () => undefined, warn: (_m, meta) => warnings.push(meta as Record<string, unknown>), error: () => undefined });
    writeFileSync(join(dir, 'routing', 'fast.json'), policy('fast', '2', { downgradeWhenBudgetBelowPct: 150 }));
    const problems = r.reload();
    assert.deepEqual(problems.map((p) => [p.source, p.field]), [['agents/routing/fast.json', 'downgradeWhenBudgetBelowPct']]);
    assert.equal(r.policy('fast')?.version, '1', 'the last good policy keeps serving');
    assert.equal(r.has('alpha'), true, 'and so does the agent that names it');
    assert.equal(warnings[0]!['serving'], 'fast@1 (last good)');
    writeFileSync(join(dir, 'routing', 'fast.json'), policy('fast', '3'));
    assert.deepEqual(r.reload(), []);
    assert.equal(r.policy('fast')?.version, '3');
  });

  it('refuses an agent that names a policy no file or built-in has, naming model.routing', () => {
    const dir = agentsDir({ 'a.json': agent('alpha', { routing: 'missing' }), 'b.json': agent('beta', { provider: 'offline', name: 'offline-echo' }) });
    const r = registry(dir);
    assert.equal(r.has('alpha'), false);
    assert.equal(r.has('beta'), true);
    const [problem] = r.problems();
    assert.equal(problem?.field, 'model.routing');
    assert.match(problem!.message, /agents\/a\.json: model\.routing: no routing policy "missing" \(known: balanced\)/);
  });

  it('takes an agent away when the policy it names is deleted', () => {
    const dir = agentsDir({ 'a.json': agent('alpha', { routing: 'fast' }) }, { 'fast.json': policy('fast') });
    const r = registry(dir);
    assert.equal(r.has('alpha'), true);
    rmSync(join(dir, 'routing', 'fast.json'));
    assert.deepEqual(r.reload().map((p) => p.field), ['model.routing']);
    assert.equal(r.has('alpha'), false);
  });
});
