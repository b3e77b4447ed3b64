import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BudgetStore } from '@keelson/cost';
import { ApiKeyStore } from '@keelson/identity';
import { startRedis, type RedisServerHandle } from '@keelson/testing';
import { createClient } from 'redis';
import { loadFunctionConfig } from './config';
import { buildFunctionRuntime, type FunctionRuntime } from './function-deps';
import { createInvokeHandler, type InvokeHandler } from './invoke-handler';
import { toFunctionRequest, toLambdaResult } from './lambda';
import { jsonLineLogger } from './logger';
import { invokeEvent, writeKeysFile } from './testing';

/** With REDIS_URL: keys made through the admin API, rate limits and budgets, against a real redis-server. */
describe('the function with Redis', () => {
  let redis: RedisServerHandle;
  let runtime: FunctionRuntime;
  let handle: InvokeHandler;
  let client: ReturnType<typeof createClient>;
  const dir = mkdtempSync(join(tmpdir(), 'keelson-fn-redis-'));
  const call = async (key: string, body?: string) => toLambdaResult(await handle(toFunctionRequest(invokeEvent({ authorization: `Bearer ${key}`, ...(body ? { body } : {}) }))));

  before(async () => {
    redis = await startRedis();
    client = createClient({ url: redis.url });
    await client.connect();
    const keys = writeKeysFile(dir);
    const config = loadFunctionConfig({
      KEELSON_API_KEYS_FILE: keys.file,
      REDIS_URL: redis.url,
      RATE_LIMITS_BY_TENANT: JSON.stringify({ limited: { keyRpm: 2 } }),
    });
    runtime = await buildFunctionRuntime(config, jsonLineLogger('error', () => undefined));
    handle = createInvokeHandler(runtime.deps);
  });
  after(async () => {
    await runtime?.close();
    await client?.quit();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('authenticates a key made through the admin API (kept in Redis)', async () => {
    const { token } = await new ApiKeyStore(client).create('acme', { name: 'fn', scopes: ['invoke'] }, 'test');
    const result = await call(token);
    assert.equal(result.statusCode, 200, result.body);
  });

  it("answers 429 rate_limited with Retry-After once the key's requests per minute are used up", async () => {
    const { token } = await new ApiKeyStore(client).create('limited', { name: 'fn', scopes: ['invoke'] }, 'test');
    assert.equal((await call(token)).statusCode, 200);
    assert.equal((await call(token)).statusCode, 200);
    const refused = await call(token);
    assert.equal(refused.statusCode, 429, refused.body);
    assert.match(String(refused.headers?.['retry-after']), /^\d+$/);
    const body = JSON.parse(refused.body!);
    assert.equal(body.error.code, 'rate_limited');
    assert.deepEqual(body.error.limit, { scope: 'key', kind: 'requests', perMinute: 2 });
  });

  it("answers 402 budget_exceeded with the budget when the tenant's budget has no room", async () => {
    const { token } = await new ApiKeyStore(client).create('budgeted', { name: 'fn', scopes: ['invoke'] }, 'test');
    await new BudgetStore(client).set({ scope: { kind: 'tenant', tenant: 'budgeted' }, window: 'month', limitMicroUsd: 1_000_000, tokenLimit: 5 });
    const refused = await call(token);
    assert.equal(refused.statusCode, 402, refused.body);
    const body = JSON.parse(refused.body!);
    assert.equal(body.error.code, 'budget_exceeded');
    assert.equal(body.error.budget.scope, 'tenant');
  });
});
