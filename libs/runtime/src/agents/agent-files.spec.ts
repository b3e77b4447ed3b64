import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { findRepoRoot, waitFor } from '@keelson/testing';
import { AgentDefinitionError, parseAgentDefinition } from './agent-definition';
import { builtinAgents } from './builtin-agents';
import { AgentFileRegistry, loadAgentFiles, readAgentFile, type AgentFileLogger } from './agent-files';

const yaml = (id: string, version = '1', extra = '') => `# ${id}
id: ${id}
version: "${version}"
description: An agent for tests
model:
  provider: offline
  name: offline-echo
systemPrompt: |
  Be brief.
limits:
  maxOutputTokens: 100
  maxSteps: 1
  timeoutMs: 1000
${extra}`;

const json = (id: string, version = '1', override: Record<string, unknown> = {}) =>
  JSON.stringify({
    id,
    version,
    description: 'An agent for tests',
    model: { provider: 'offline', name: 'offline-echo' },
    systemPrompt: 'Be brief.',
    limits: { maxOutputTokens: 100, maxSteps: 1, timeoutMs: 1000 },
    ...override,
  });

const dirs: string[] = [];
/** A fresh directory named `agents`, so sources read `agents/<file>` as they do in the repo. */
function agentsDir(files: Record<string, string> = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'agent-files-'));
  dirs.push(root);
  const dir = join(root, 'agents');
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function recordingLogger() {
  const lines: { level: string; msg: string; meta: Record<string, unknown> }[] = [];
  const at = (level: string) => (msg: string, meta: object = {}) => lines.push({ level, msg, meta: meta as Record<string, unknown> });
  const logger: AgentFileLogger = { info: at('info'), warn: at('warn'), error: at('error') };
  return { logger, lines };
}

function refusal(dir: string, file: string): AgentDefinitionError {
  try {
    readAgentFile(dir, file);
  } catch (err) {
    assert.ok(err instanceof AgentDefinitionError, `expected AgentDefinitionError, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected ${file} to be refused`);
}

const registries: AgentFileRegistry[] = [];
const registry = (dir: string, logger?: AgentFileLogger, watch = false) => {
  const r = new AgentFileRegistry(dir, { watch, debounceMs: 30, ...(logger ? { logger } : {}) });
  registries.push(r);
  return r;
};

afterEach(() => {
  for (const r of registries.splice(0)) r.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('agent files', () => {
  it('reads a YAML and a JSON definition, filling the defaults for tools and memory', () => {
    const dir = agentsDir({ 'a.yaml': yaml('alpha'), 'b.json': json('beta', '3', { tools: ['http_fetch'] }), 'c.yml': yaml('gamma') });
    const { agents, problems } = loadAgentFiles(dir);
    assert.deepEqual(problems, []);
    assert.deepEqual(agents.map((a) => [a.source, a.definition.id, a.definition.version]), [
      ['agents/a.yaml', 'alpha', '1'],
      ['agents/b.json', 'beta', '3'],
      ['agents/c.yml', 'gamma', '1'],
    ]);
    assert.equal(agents[0]!.definition.systemPrompt, 'Be brief.\n');
    assert.deepEqual(agents[0]!.definition.tools, []);
    assert.deepEqual(agents[0]!.definition.memory, { recall: 'none' });
    assert.deepEqual(agents[1]!.definition.tools, ['http_fetch']);
  });

  it('carries a semantic memory policy, with topK defaulting to 5', () => {
    const dir = agentsDir({ 'a.yaml': yaml('alpha', '1', 'memory:\n  recall: semantic\n'), 'b.yaml': yaml('beta', '1', 'memory: { recall: semantic, topK: 12 }\n') });
    const [a, b] = loadAgentFiles(dir).agents;
    assert.deepEqual(a!.definition.memory, { recall: 'semantic', topK: 5 });
    assert.deepEqual(b!.definition.memory, { recall: 'semantic', topK: 12 });
  });

  it('ignores files that are not agent files', () => {
    const dir = agentsDir({ 'a.yaml': yaml('alpha'), 'README.md': '# notes', '.a.yaml.swp': 'junk', 'a.yaml~': 'junk' });
    const { agents, problems } = loadAgentFiles(dir);
    assert.deepEqual(agents.map((a) => a.definition.id), ['alpha']);
    assert.deepEqual(problems, []);
  });

  it('refuses a bad value naming the file and the field', () => {
    const dir = agentsDir({ 'assistant.yaml': yaml('assistant').replace('timeoutMs: 1000', 'timeoutMs: -5') });
    const err = refusal(dir, 'assistant.yaml');
    assert.equal(err.field, 'limits.timeoutMs');
    assert.equal(err.source, 'agents/assistant.yaml');
    assert.match(err.message, /^agents\/assistant\.yaml: limits\.timeoutMs: expected a positive integer/);
  });

  it('names the field for every kind of refusal', () => {
    const cases: [string, string, string][] = [
      ['missing.json', JSON.stringify({ ...JSON.parse(json('x')), systemPrompt: undefined }), 'systemPrompt'],
      ['bad-id.yaml', yaml('Has_Caps'), 'id'],
      ['typo.json', json('x', '1', { systemPromt: 'typo' }), '(definition)'],
      ['model.json', json('x', '1', { model: { provider: 'offline' } }), 'model.name'],
      ['steps.yaml', yaml('x').replace('maxSteps: 1', 'maxSteps: 1.5'), 'limits.maxSteps'],
      ['tokens.json', json('x', '1', { limits: { maxOutputTokens: 'many', maxSteps: 1, timeoutMs: 1 } }), 'limits.maxOutputTokens'],
      ['tools.json', json('x', '1', { tools: ['ok', 'has space'] }), 'tools.1'],
      ['tools-twice.json', json('x', '1', { tools: ['a', 'a'] }), 'tools'],
      ['memory.yaml', yaml('x', '1', 'memory:\n  recall: everything\n'), 'memory.recall'],
      ['topk.yaml', yaml('x', '1', 'memory:\n  recall: semantic\n  topK: 0\n'), 'memory.topK'],
      ['topk-none.yaml', yaml('x', '1', 'memory:\n  recall: none\n  topK: 3\n'), 'memory'],
      ['broken.yaml', 'id: [unclosed', '(file)'],
      ['broken.json', '{"id": ', '(file)'],
      ['list.yaml', '- id: x\n', '(definition)'],
    ];
    const dir = agentsDir(Object.fromEntries(cases.map(([file, text]) => [file, text])));
    for (const [file, , field] of cases) {
      const err = refusal(dir, file);
      assert.equal(err.field, field, `${file}: expected field ${field}, got ${err.field} (${err.message})`);
      assert.ok(err.message.startsWith(`agents/${file}: `), `${file}: message should start with the file: ${err.message}`);
    }
    assert.match(refusal(dir, 'typo.json').message, /systemPromt/);
  });

  it('ships agents/assistant.yaml valid, and the same as the built-in assistant', () => {
    const { agents, problems } = loadAgentFiles(join(findRepoRoot(), 'agents'));
    assert.deepEqual(problems, []);
    assert.deepEqual(agents.map((a) => a.source), ['agents/assistant.yaml']);
    assert.deepEqual(agents[0]!.definition, parseAgentDefinition(builtinAgents()[0]));
  });

  it('refuses the later of two files with one id, naming both', () => {
    const dir = agentsDir({ 'a.yaml': yaml('alpha', '1'), 'b.json': json('alpha', '2') });
    const { agents, problems } = loadAgentFiles(dir);
    assert.deepEqual(agents.map((a) => [a.source, a.definition.version]), [['agents/a.yaml', '1']]);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.field, 'id');
    assert.equal(problems[0]!.source, 'agents/b.json');
    assert.match(problems[0]!.message, /agents\/b\.json.*"alpha".*agents\/a\.yaml/);
  });
});

describe('AgentFileRegistry', () => {
  it('serves get/has/list like AgentRegistry', () => {
    const r = registry(agentsDir({ 'a.yaml': yaml('alpha'), 'b.json': json('beta') }));
    assert.equal(r.has('alpha'), true);
    assert.equal(r.get('beta')?.model.name, 'offline-echo');
    assert.equal(r.get('nobody'), undefined);
    assert.deepEqual(r.list().map((a) => a.id), ['alpha', 'beta']);
    assert.throws(() => r.register(), /add a file there/);
  });

  it('refuses to start on a directory that does not exist', () => {
    assert.throws(() => new AgentFileRegistry(join(tmpdir(), 'no-such-agents-dir-keelson')), /ENOENT/);
  });

  it('picks up an added file, a new version and a deleted file on reload()', () => {
    const dir = agentsDir({ 'a.yaml': yaml('alpha', '1') });
    const { logger, lines } = recordingLogger();
    const r = registry(dir, logger);
    assert.deepEqual(r.list().map((a) => a.id), ['alpha']);

    writeFileSync(join(dir, 'b.json'), json('beta'));
    r.reload();
    assert.equal(r.has('beta'), true, 'an added file is served after reload');

    writeFileSync(join(dir, 'a.yaml'), yaml('alpha', '2'));
    r.reload();
    assert.equal(r.get('alpha')?.version, '2');
    assert.ok(
      lines.some((l) => l.msg === 'agent version changed' && l.meta.agent === 'alpha' && l.meta.from === '1' && l.meta.to === '2'),
      `expected a version change line, got ${JSON.stringify(lines)}`,
    );

    unlinkSync(join(dir, 'b.json'));
    r.reload();
    assert.equal(r.has('beta'), false, 'a deleted file takes its agent away');
    assert.ok(lines.some((l) => l.msg === 'agent removed' && l.meta.agent === 'beta'));
  });

  it('keeps serving the last good version of a file that became invalid, and logs the field', () => {
    const dir = agentsDir({ 'a.yaml': yaml('alpha', '1') });
    const { logger, lines } = recordingLogger();
    const r = registry(dir, logger);

    writeFileSync(join(dir, 'a.yaml'), yaml('alpha', '2').replace('maxSteps: 1', 'maxSteps: 0'));
    const problems = r.reload();
    assert.deepEqual(problems.map((p) => [p.source, p.field]), [['agents/a.yaml', 'limits.maxSteps']]);
    assert.equal(r.get('alpha')?.version, '1', 'the last good version keeps serving');
    const warning = lines.find((l) => l.level === 'warn');
    assert.equal(warning?.meta.field, 'limits.maxSteps');
    assert.equal(warning?.meta.file, 'agents/a.yaml');
    assert.match(String(warning?.meta.error), /agents\/a\.yaml: limits\.maxSteps: expected a positive integer/);

    writeFileSync(join(dir, 'a.yaml'), yaml('alpha', '3'));
    assert.deepEqual(r.reload(), []);
    assert.equal(r.get('alpha')?.version, '3', 'a fixed file is served again');
  });

  it('serves nothing for a file that has never been valid', () => {
    const dir = agentsDir({ 'a.yaml': yaml('alpha').replace('version: "1"', 'version: ""') });
    const r = registry(dir);
    assert.equal(r.has('alpha'), false);
    assert.deepEqual(r.problems().map((p) => p.field), ['version']);
  });

  it('lets the file already serving an id keep it when another file claims the id', () => {
    const dir = agentsDir({ 'z.yaml': yaml('alpha', 'z') });
    const r = registry(dir);
    writeFileSync(join(dir, 'a.yaml'), yaml('alpha', 'a'));
    const problems = r.reload();
    assert.equal(r.get('alpha')?.version, 'z');
    assert.deepEqual(problems.map((p) => [p.source, p.field]), [['agents/a.yaml', 'id']]);
    assert.match(problems[0]!.message, /agents\/z\.yaml/);
  });

  it('reloads by itself when a file is added to the watched directory', async () => {
    const dir = agentsDir({ 'a.yaml': yaml('alpha') });
    const r = registry(dir, undefined, true);
    writeFileSync(join(dir, 'b.yaml'), yaml('beta', '7'));
    const version = await waitFor(() => r.get('beta')?.version, { timeoutMs: 5_000, description: 'the watcher to load agents/b.yaml' });
    assert.equal(version, '7');
  });
});
