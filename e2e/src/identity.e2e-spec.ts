import { strict as assert } from 'node:assert';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { sleep, startOidcIssuer, waitFor, type OidcIssuerHandle } from '@keelson/testing';
import WebSocket from 'ws';
import { client } from './support/http';
import { API_KEY, OTHER_TENANT_KEY, startMesh, type Mesh } from './support/mesh';

/** An upgrade to the session WebSocket: the HTTP status it was refused with, or 101. */
function upgradeStatus(base: string, sessionId: string, key: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/v1/sessions/${sessionId}/ws`, { headers: { authorization: `Bearer ${key}` } });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('error', reject);
  });
}

/** Counted per 2 s instead of per minute, so the access review's tests need not wait for minutes to end. */
const ACCESS_INTERVAL_MS = 2_000;

/** A GET over a connection from `localAddress` (any 127.x.y.z reaches the gateway on loopback): another source. */
function getFrom(localAddress: string, url: string, key: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { localAddress, headers: { authorization: `Bearer ${key}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Waits into the next access-log interval, so each call below lands in an interval of its own. */
const nextInterval = () => sleep(ACCESS_INTERVAL_MS - (Date.now() % ACCESS_INTERVAL_MS) + 50);

describe('identity: API keys with scopes, OIDC tokens, audited denials, the access review', () => {
  let mesh: Mesh;
  let idp: OidcIssuerHandle;
  let admin: ReturnType<typeof client>;
  const started = new Date();

  before(async () => {
    idp = await startOidcIssuer();
    mesh = await startMesh({
      env: {
        OIDC_ISSUER: idp.issuer,
        OIDC_AUDIENCE: 'keelson',
        OIDC_TENANT_CLAIM: 'tenant',
        OIDC_SCOPE_MAP: '{"agents":["invoke"]}',
        ACCESS_LOG_INTERVAL_MS: String(ACCESS_INTERVAL_MS),
      },
    });
    admin = client(mesh.base);
    // Calls first: their per-minute access records are written once the minute ends, read by the last test.
    for (let i = 0; i < 3; i++) assert.equal((await admin.post('/v1/agents/assistant/invoke', { input: `hello ${i}` })).status, 200);
  });
  after(async () => {
    await mesh?.stop();
    await idp?.stop();
  });

  let tasksKey: { id: string; key: string };

  it('creates a key that is shown once, listed without its secret, and holds only its scopes', async () => {
    const created = await admin.post('/v1/keys', { name: 'ci pipeline', scopes: ['tasks'] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.match(created.body.key, /^ks_key[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/);
    tasksKey = { id: created.body.id, key: created.body.key };
    const listed = await admin.get('/v1/keys');
    const entry = listed.body.keys.find((k: { id: string }) => k.id === tasksKey.id);
    assert.deepEqual([entry.name, entry.scopes, entry.status, entry.source], ['ci pipeline', ['tasks'], 'active', 'api']);
    assert.ok(!JSON.stringify(listed.body).includes(tasksKey.key.split('.')[1]!), 'no secret in the list');

    const ci = client(mesh.base, tasksKey.key);
    assert.equal((await ci.post('/v1/tasks', { agentId: 'assistant', input: 'hi' })).status, 202);
    const refused = await ci.post('/v1/agents/assistant/invoke', { input: 'hi' });
    assert.equal(refused.status, 403);
    assert.deepEqual([refused.body.error.code, refused.body.error.field], ['forbidden', 'invoke']);
    assert.equal((await ci.get('/v1/keys')).status, 403, 'a key without admin cannot manage keys');
    assert.equal(await upgradeStatus(mesh.base, 'ses_none', tasksKey.key), 403, 'nor open a session socket without the sessions scope');
  });

  it('refuses a key that would grant more than its creator holds', async () => {
    const limitedAdmin = (await admin.post('/v1/keys', { name: 'limited admin', scopes: ['admin', 'tasks'] })).body.key;
    const refused = await client(mesh.base, limitedAdmin).post('/v1/keys', { name: 'x', scopes: ['memory'] });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.field, 'scopes');
    const bad = await admin.post('/v1/keys', { name: 'x', scopes: ['everything'] });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /scopes/);
  });

  it('rotates with no grace (the old key stops at once) and revokes; another tenant sees neither key', async () => {
    const rotated = await admin.post(`/v1/keys/${tasksKey.id}/rotate`, { graceSeconds: 0 });
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
    assert.equal(rotated.body.previous.rotatedTo, rotated.body.id);
    const old = await client(mesh.base, tasksKey.key).get('/v1/tasks/tsk_x');
    assert.equal(old.status, 401);
    assert.match(old.body.error.message, /expired/);
    const fresh = client(mesh.base, rotated.body.key);
    assert.equal((await fresh.post('/v1/tasks', { agentId: 'assistant', input: 'hi' })).status, 202);

    const acme = client(mesh.base, OTHER_TENANT_KEY);
    assert.equal((await acme.json(`/v1/keys/${rotated.body.id}`, { method: 'DELETE' })).status, 404, "another tenant's key is unknown to it");
    assert.ok(!(await acme.get('/v1/keys')).body.keys.some((k: { id: string }) => k.id === rotated.body.id));

    const revoked = await admin.json(`/v1/keys/${rotated.body.id}`, { method: 'DELETE' });
    assert.equal(revoked.body.status, 'revoked');
    assert.equal((await fresh.get('/v1/tasks/tsk_x')).status, 401);
    assert.equal((await admin.json(`/v1/keys/${rotated.body.id}/rotate`, { method: 'POST', body: '{}' })).status, 409);
  });

  it('refuses a revoked key at once on every gateway replica', async () => {
    const second = await mesh.startReplica('gateway');
    const other = `http://127.0.0.1:${second.port}`;
    const { id, key } = (await admin.post('/v1/keys', { name: 'two replicas', scopes: ['tasks'] })).body;
    for (const base of [mesh.base, other]) assert.equal((await client(base, key).get('/v1/tasks/tsk_none')).status, 404, 'known (and now cached) on both');
    assert.equal((await admin.json(`/v1/keys/${id}`, { method: 'DELETE' })).status, 200);
    const refused = await client(other, key).get('/v1/tasks/tsk_none');
    assert.equal(refused.status, 401, 'the other replica, right after the answer, without waiting for its cache');
    assert.match(refused.body.error.message, /revoked/);
  });

  it('shows a seeded suspicious pattern in the access review: a new source address and a spike', async () => {
    const created = (await admin.post('/v1/keys', { name: 'suspect', scopes: ['tasks'] })).body;
    const key = created.key as string;
    const url = `${mesh.base}/v1/tasks/tsk_none`;
    const review = (from: Date) =>
      admin.get(`/v1/access-review?from=${from.toISOString()}&to=${new Date(from.getTime() + 600_000).toISOString()}`);
    // History: the key's usual address, before the reviewed period.
    const history = new Date(Date.now() - 1_000);
    for (let i = 0; i < 3; i++) {
      await nextInterval();
      assert.equal(await getFrom('127.0.0.1', url, key), 404);
    }
    await waitFor(async () => ((await review(history)).body.keys.find((k: { keyId: string }) => k.keyId === created.id)?.calls >= 3 ? true : undefined), {
      description: 'the history in the audit trail',
      timeoutMs: 30_000,
    });
    // The reviewed period: three quiet intervals from the usual address, then a burst from a new one.
    const from = new Date();
    for (let i = 0; i < 3; i++) {
      await nextInterval();
      assert.equal(await getFrom('127.0.0.1', url, key), 404);
    }
    await nextInterval();
    const burst = await Promise.all(Array.from({ length: 150 }, () => getFrom('127.0.0.2', url, key)));
    assert.ok(burst.every((status) => status === 404));
    const suspect = await waitFor(
      async () => {
        const k = (await review(from)).body.keys.find((x: { keyId: string }) => x.keyId === created.id);
        return k?.calls >= 153 ? k : undefined;
      },
      { description: 'the burst in the access review', timeoutMs: 30_000 },
    );
    const kinds = suspect.unusual.map((u: { kind: string }) => u.kind);
    assert.ok(kinds.includes('new_source'), JSON.stringify(suspect.unusual));
    assert.ok(kinds.includes('spike'), JSON.stringify(suspect.unusual));
    assert.deepEqual(suspect.sources.find((s: { address: string }) => s.address === '127.0.0.2')?.new, true);
    assert.equal(suspect.sources.find((s: { address: string }) => s.address === '127.0.0.1')?.new, false);
  });

  it('accepts OIDC tokens of the issuer, mapped to tenant and scopes, and refuses bad ones', async () => {
    const token = await idp.sign({ sub: 'alice', tenant: 'dev', scope: 'agents' });
    const invoked = await client(mesh.base, token).post('/v1/agents/assistant/invoke', { input: 'hello from a token' });
    assert.equal(invoked.status, 200, JSON.stringify(invoked.body));
    assert.equal((await client(mesh.base, token).post('/v1/tasks', { agentId: 'assistant', input: 'x' })).status, 403, 'agents maps to invoke only');
    for (const bad of [
      await idp.sign({ sub: 'alice', tenant: 'dev', scope: 'agents' }, { expiresIn: -3_600 }),
      await idp.sign({ sub: 'alice', tenant: 'dev', scope: 'agents' }, { audience: 'another-api' }),
      await idp.sign({ sub: 'alice', scope: 'agents' }),
    ]) {
      const res = await client(mesh.base, bad).post('/v1/agents/assistant/invoke', { input: 'x' });
      assert.equal(res.status, 401);
      assert.equal(res.body.error.field, 'Authorization');
    }
  });

  it('records every denial and key change in the audit trail, and reviews who accessed what', async () => {
    const denied = await waitFor(
      async () => {
        const page = await admin.get('/v1/audit/events?type=auth.denied');
        return page.body.events?.length >= 2 ? page.body.events : undefined;
      },
      { description: 'auth.denied events of the dev tenant', timeoutMs: 20_000 },
    );
    assert.ok(denied.some((e: { data: { reason: string; scope?: string } }) => e.data.reason === 'missing_scope' && e.data.scope === 'invoke'));
    assert.ok(denied.some((e: { data: { reason: string } }) => e.data.reason === 'expired_key'));

    const review = await waitFor(
      async () => {
        const res = await admin.get(`/v1/access-review?from=${started.toISOString()}&to=${new Date(Date.now() + 120_000).toISOString()}`);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const dev = res.body.keys.find((k: { keyId: string }) => k.keyId === 'e2e-dev');
        return dev?.calls >= 3 ? res.body : undefined;
      },
      { description: "the dev key's calls in the access review (written when their interval ends)", timeoutMs: 30_000 },
    );
    const dev = review.keys.find((k: { keyId: string }) => k.keyId === 'e2e-dev');
    assert.ok(dev.routes.some((r: { route: string }) => r.route === 'POST /v1/agents/:agentId/invoke'));
    assert.deepEqual(dev.sources.map((s: { address: string }) => s.address), ['127.0.0.1']);
    assert.ok(review.denials.byReason.missing_scope >= 1);
    assert.deepEqual(
      [...new Set(review.keyChanges.map((c: { type: string }) => c.type))].sort(),
      ['admin.key_created', 'admin.key_revoked', 'admin.key_rotated'],
    );
    const csv = await admin.request(`/v1/access-review?format=csv&from=${started.toISOString()}`);
    assert.equal(csv.headers.get('content-type'), 'text/csv; charset=utf-8');
    assert.match(await csv.text(), /^keyId,name,status,calls/);
    assert.equal((await client(mesh.base, API_KEY).get('/v1/access-review?from=2026-01-01&to=2026-03-01')).status, 400, 'at most 31 days');
  });
});
