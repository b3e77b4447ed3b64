import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { AuditTypes } from '@keelson/contracts';
import { waitFor } from '@keelson/testing';
import { bodyCorpus, HEADER_CORPUS, PATH_SEGMENT_CORPUS, queryCorpus, readOpenApi, type Operation, type RawCase } from './support/fuzz-http';
import { fuzzRuns, fuzzSeed, watchProcesses, type Watched } from './support/fuzz-mesh';
import { mutationsOf, sketchBody } from './support/fuzz-schema';
import { client } from './support/http';
import { API_KEY, startMesh, type Mesh } from './support/mesh';

/**
 * Issue 11: bad input at scale over HTTP. Every operation of docs/api/openapi.json (read at run time, so a new
 * route is covered without touching this file) gets a fixed corpus of bad bodies, query strings, headers
 * and path segments, and fast-check mutations of a valid body derived from its request schema. Every answer
 * is below 500 (a 503 only with Retry-After), every 4xx names a `code` and a `message`, every service is
 * alive and ready afterwards, and no refused request wrote anything (counted through the read routes).
 */

/** A body each operation takes, so that mutations start from something valid; a new route falls back to its schema. */
const VALID_BODIES: Record<string, Record<string, unknown>> = {
  createKey: { name: 'fuzz', scopes: ['invoke'] },
  rotateKey: { graceSeconds: 0 },
  putRollout: { stable: '1', canary: '2', canaryShare: 0.1 },
  promoteRollout: { reason: 'fuzz' },
  rollbackRollout: { reason: 'fuzz' },
  setKillSwitch: { reason: 'fuzz' },
  setBudget: { scope: 'agent', scopeId: 'fuzz-absent', window: 'day', limitUsd: 5 },
  guardCheckInput: { text: 'hello', source: 'user' },
  guardFilterOutput: { text: 'mail me at ada@example.com' },
  guardRevealPseudonyms: { text: 'nothing here' },
  setGuardPolicy: { input: { enabled: true, blockThreshold: 0.9 } },
  createMemory: { namespace: 'user:fuzz-user', text: 'fuzz memory', kind: 'fact', ttlSeconds: 600 },
  searchMemories: { query: 'fuzz', topK: 5 },
  createChatCompletion: { model: 'assistant', messages: [{ role: 'user', content: 'hi' }] },
  invokeAgent: { input: 'hello', userId: 'fuzz-user' },
  createSession: { agentId: 'assistant', userId: 'fuzz-user' },
  sendMessage: { content: 'hello', onBusy: 'reject' },
  createTask: { agentId: 'assistant', input: 'hello' },
  decideApproval: { decision: 'approve', reason: 'fuzz' },
};

/** The audit record a successful call of the operation leaves: the read side of "nothing half-written". */
const WRITES: Record<string, string> = {
  createSession: AuditTypes.sessionOpened,
  createTask: AuditTypes.taskAccepted,
  createKey: AuditTypes.adminKeyCreated,
  rotateKey: AuditTypes.adminKeyRotated,
  revokeKey: AuditTypes.adminKeyRevoked,
  setBudget: AuditTypes.adminBudgetSet,
  deleteBudget: AuditTypes.adminBudgetDeleted,
  setGuardPolicy: AuditTypes.adminGuardPolicySet,
  putRollout: AuditTypes.adminRolloutSet,
  promoteRollout: AuditTypes.adminRolloutPromoted,
  rollbackRollout: AuditTypes.adminRolloutRolledBack,
  setKillSwitch: AuditTypes.adminKillSwitchSet,
  clearKillSwitch: AuditTypes.adminKillSwitchCleared,
  eraseUserMemories: AuditTypes.adminMemoryErased,
};

/** Streams and upgrades answer with headers and stay open; the test reads their status only. */
const STREAMING = new Set(['streamSessionEvents', 'streamTaskEvents', 'sessionSocket']);

interface Answer {
  status: number;
  body: any;
  retryAfter: string | null;
}

describe('HTTP fuzz: every route of openapi.json answers bad input with a clear 4xx', () => {
  let mesh: Mesh;
  let watched: Watched;
  const api = () => client(mesh.base, API_KEY);
  const { doc, operations } = readOpenApi();
  const pathValues: Record<string, string> = {};
  /** 2xx answers per operation: the most records the read routes may show afterwards. */
  const succeeded = new Map<string, number>();
  const problems: string[] = [];
  let sent = 0;

  before(async () => {
    mesh = await startMesh();
    watched = watchProcesses(mesh);
    const session = await api().post('/v1/sessions', { agentId: 'assistant', userId: 'fuzz-user' });
    const task = await api().post('/v1/tasks', { agentId: 'assistant', input: 'seed' });
    const memory = await api().post('/v1/memories', { namespace: 'user:fuzz-user', text: 'seed memory' });
    const key = await api().post('/v1/keys', { name: 'fuzz-target', scopes: ['invoke'] });
    for (const [what, res] of Object.entries({ session, task, memory, key })) assert.ok(res.status < 300, `seeding the ${what}: ${res.status} ${JSON.stringify(res.body)}`);
    Object.assign(pathValues, {
      sessionId: session.body.sessionId,
      taskId: task.body.taskId,
      id: memory.body.id ?? memory.body.results?.[0]?.id,
      keyId: key.body.id,
      agentId: 'assistant',
      model: 'assistant',
      approvalId: 'appr_fuzz_absent',
      kind: 'agent',
      scope: 'agent',
      window: 'day',
    });
    // Rollouts and kill switches aim at an agent that does not exist, so nothing the fuzz gets through stops dev.
    pathValues['id:setKillSwitch'] = pathValues['id:clearKillSwitch'] = 'fuzz-absent';
  });
  after(async () => {
    watched?.stop();
    await mesh?.stop();
  });

  const urlOf = (op: Operation, override: Record<string, string> = {}) =>
    op.path.replace(/\{([^}]+)\}/g, (_, name: string) => override[name] ?? pathValues[`${name}:${op.id}`] ?? pathValues[name] ?? 'fuzz-absent');
  const validBody = (op: Operation) => VALID_BODIES[op.id] ?? (op.bodySchema ? sketchBody(doc, op.bodySchema) : undefined);

  /** Sends one request; streams are cut after their headers. Never throws for an HTTP answer. */
  const send = async (op: Operation, c: RawCase, path = urlOf(op)): Promise<Answer> => {
    sent++;
    const headers = new Headers({ authorization: `Bearer ${API_KEY}` });
    if (c.body !== undefined) headers.set('content-type', 'application/json');
    for (const [k, v] of Object.entries(c.headers ?? {})) {
      if (v === '') headers.delete(k);
      else headers.set(k, v);
    }
    const res = await fetch(`${mesh.base}${path}${c.query ? `?${c.query}` : ''}`, {
      method: op.method,
      headers,
      ...(c.body !== undefined ? { body: c.body } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    const type = res.headers.get('content-type') ?? '';
    let body: any;
    if (type.includes('json')) body = await res.json().catch(() => '<not JSON>');
    else await res.body?.cancel();
    if (res.status < 300) succeeded.set(op.id, (succeeded.get(op.id) ?? 0) + 1);
    return { status: res.status, body, retryAfter: res.headers.get('retry-after') };
  };

  /** The clear-error rule; the OpenAI-compatible routes carry it inside `error`, as OpenAI's SDKs expect. */
  const unclear = (a: Answer, expect4xx: boolean): string | undefined => {
    if (a.status >= 500 && !(a.status === 503 && a.retryAfter)) return `answered ${a.status}`;
    if (expect4xx && (a.status < 400 || a.status >= 500)) return `took an invalid request: ${a.status}`;
    if (a.status >= 400 && a.status < 500) {
      const err = a.body?.error && typeof a.body.error === 'object' ? a.body.error : a.body;
      if (typeof err?.code !== 'string' || typeof err?.message !== 'string') return `${a.status} without code and message: ${JSON.stringify(a.body)?.slice(0, 200)}`;
    }
    return undefined;
  };
  const check = async (op: Operation, c: RawCase, expect4xx: boolean, path?: string) => {
    try {
      const problem = unclear(await send(op, c, path), expect4xx);
      if (problem) problems.push(`${op.method} ${op.path} [${c.what}]: ${problem}`);
    } catch (err) {
      problems.push(`${op.method} ${op.path} [${c.what}]: no answer (${(err as Error).message})`);
    }
  };

  // Deletes go last, so the resources the other routes need are still there.
  const ordered = () => [...operations].sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'));

  it('answers the fixed corpus of bad bodies, queries, headers and path segments with clear errors', async (t) => {
    for (const op of ordered()) {
      const valid = validBody(op);
      if (valid) for (const c of bodyCorpus(valid, op.bodySchema)) await check(op, c, !c.mayPass);
      // A refused query parameter or header is a 4xx; an ignored one may succeed, but never a 5xx.
      for (const c of queryCorpus(op.parameters)) await check(op, { ...c, ...(valid ? { body: JSON.stringify(valid) } : {}) }, false);
      if (!STREAMING.has(op.id)) {
        for (const c of HEADER_CORPUS) await check(op, { ...c, ...(valid ? { body: JSON.stringify(valid) } : {}) }, false);
      }
      for (const name of op.parameters.filter((p) => p.in === 'path').map((p) => p.name)) {
        for (const segment of PATH_SEGMENT_CORPUS) await check(op, { what: `{${name}} = ${segment.slice(0, 30)}`, ...(valid ? { body: JSON.stringify(valid) } : {}) }, false, urlOf(op, { [name]: segment }));
      }
    }
    t.diagnostic(`${sent} corpus requests over ${operations.length} operations`);
    assert.deepEqual(problems, [], `${problems.length} of ${sent} requests had no clear answer:\n${problems.join('\n')}`);
  });

  it('answers fast-check mutations of each valid body (schema-derived) with a clear 4xx', async (t) => {
    const seed = fuzzSeed();
    const numRuns = fuzzRuns();
    const failures: string[] = [];
    for (const op of ordered()) {
      const valid = validBody(op);
      const mutations = valid && op.bodySchema ? mutationsOf(op.bodySchema, valid) : undefined;
      if (!mutations) continue;
      const result = await fc.check(
        fc.asyncProperty(mutations, async (m) => {
          const answer = await send(op, { what: m.what, body: JSON.stringify(m.body) });
          const problem = unclear(answer, true);
          if (problem) throw new Error(`${m.what}: ${problem}`);
        }),
        { seed, numRuns, endOnFailure: true },
      );
      if (result.failed) failures.push(`${op.method} ${op.path}: ${(result.errorInstance as Error)?.message} (counterexample ${JSON.stringify(result.counterexample)?.slice(0, 300)})`);
    }
    t.diagnostic(`seed ${seed}, ${numRuns} runs per route, ${sent} requests in all`);
    assert.deepEqual(failures, [], `fast-check seed ${seed} (rerun with KEELSON_FUZZ_SEED=${seed}), ${numRuns} runs per route:\n${failures.join('\n')}`);
  });

  it('leaves every service alive and ready, and nothing written by a refused request', async () => {
    assert.deepEqual(watched.died(), [], 'a service exited during the fuzz');
    for (const [name, port] of mesh.ports) {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(10_000) });
      assert.equal(res.status, 200, `${name} /readyz: ${res.status} ${await res.text()}`);
    }
    // A sentinel write: once its audit record is readable, every earlier one of this tenant is too.
    const sentinel = await api().post('/v1/sessions', { agentId: 'assistant' });
    assert.equal(sentinel.status, 201, JSON.stringify(sentinel.body));
    succeeded.set('createSession', (succeeded.get('createSession') ?? 0) + 1);
    await waitFor(async () => (await api().get(`/v1/audit/events?sessionId=${sentinel.body.sessionId}&type=${AuditTypes.sessionOpened}`)).body?.events?.length > 0, {
      description: 'the sentinel session in the audit trail',
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    // The seeding in before() wrote one session, task and key.
    const seeded: Record<string, number> = { createSession: 1, createTask: 1, createKey: 1 };
    const overWritten: string[] = [];
    for (const [opId, type] of Object.entries(WRITES)) {
      const count = await countAudit(type);
      const allowed = (succeeded.get(opId) ?? 0) + (seeded[opId] ?? 0);
      if (count > allowed) overWritten.push(`${type}: ${count} records, ${allowed} successful ${opId} calls`);
    }
    const memories = (await api().post('/v1/memories/search', { query: 'fuzz memory', topK: 100, namespace: 'user:fuzz-user' })).body?.results ?? [];
    const memoryWrites = (succeeded.get('createMemory') ?? 0) + 1;
    if (memories.length > memoryWrites) overWritten.push(`memories: ${memories.length} in user:fuzz-user, ${memoryWrites} successful writes`);
    const session = (await api().get(`/v1/sessions/${pathValues['sessionId']}`)).body;
    if (session?.turns > (succeeded.get('sendMessage') ?? 0)) overWritten.push(`session turns: ${session.turns}, ${succeeded.get('sendMessage') ?? 0} accepted messages`);
    assert.deepEqual(overWritten, [], 'more was written than the successful requests account for');
  });

  /** Records of one audit type in dev's trail, every page. */
  const countAudit = async (type: string): Promise<number> => {
    let count = 0;
    let cursor: string | undefined;
    do {
      const page = await api().get(`/v1/audit/events?type=${type}&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(page.status, 200, `audit ${type}: ${JSON.stringify(page.body)}`);
      count += page.body.events.length;
      cursor = page.body.nextCursor;
    } while (cursor);
    return count;
  };
});
