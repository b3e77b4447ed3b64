import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { AgentDefinitionError, type AgentDefinitionInput } from './agent-definition';
import { AgentRegistry } from './agent-registry';
import { builtinAgents } from './builtin-agents';

const valid = (): AgentDefinitionInput => ({
  id: 'summariser',
  version: '2',
  description: 'Summarises text',
  model: { provider: 'offline', name: 'offline-echo' },
  systemPrompt: 'Summarise.',
  limits: { maxOutputTokens: 100, maxSteps: 1, timeoutMs: 1000 },
});

function rejection(raw: unknown): AgentDefinitionError {
  try {
    new AgentRegistry().register(raw, 'agents/bad.yaml');
  } catch (err) {
    assert.ok(err instanceof AgentDefinitionError, `expected AgentDefinitionError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected register to throw');
}

describe('AgentRegistry', () => {
  it('holds the builtin assistant, on the offline model', () => {
    const registry = new AgentRegistry(builtinAgents());
    assert.equal(registry.has('assistant'), true);
    assert.equal(registry.get('assistant')?.model.provider, 'offline');
    assert.deepEqual(registry.list().map((a) => a.id), ['assistant']);
  });

  it('answers undefined / false for an unknown id', () => {
    const registry = new AgentRegistry();
    assert.equal(registry.get('nobody'), undefined);
    assert.equal(registry.has('nobody'), false);
  });

  it('names the bad field of an invalid definition, and where it came from', () => {
    const err = rejection({ ...valid(), limits: { ...valid().limits, timeoutMs: -5 } });
    assert.equal(err.field, 'limits.timeoutMs');
    assert.equal(err.source, 'agents/bad.yaml');
    assert.match(err.message, /agents\/bad\.yaml.*limits\.timeoutMs/);
  });

  it('rejects a missing field, a bad id and an unknown key', () => {
    const { systemPrompt: _dropped, ...withoutPrompt } = valid();
    assert.equal(rejection(withoutPrompt).field, 'systemPrompt');
    assert.equal(rejection({ ...valid(), id: 'Has Spaces' }).field, 'id');
    assert.match(rejection({ ...valid(), systemPromt: 'typo' }).message, /systemPromt/);
  });

  it('refuses a second agent with the same id', () => {
    const registry = new AgentRegistry([valid()]);
    assert.throws(() => registry.register(valid()), /"summariser" is already registered/);
  });
});
