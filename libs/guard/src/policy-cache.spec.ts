import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { GuardPolicy } from '@keelson/contracts';
import { DEFAULT_POLICY } from './policy';
import { GuardPolicyCache } from './policy-cache';

const v = (version: number, minScore = 0.5): GuardPolicy => ({ ...DEFAULT_POLICY, version, input: { ...DEFAULT_POLICY.input, blockThreshold: minScore } });

describe('GuardPolicyCache', () => {
  it('fetches a tenant\'s policy once per ttl, and once for concurrent callers', async () => {
    let fetches = 0;
    const cache = new GuardPolicyCache(async () => (fetches++, v(3)), { ttlMs: 60_000 });
    const all = await Promise.all([cache.effective('acme'), cache.effective('acme'), cache.effective('acme', 'bot')]);
    assert.equal(fetches, 1);
    assert.deepEqual(all.map((p) => p.version), [3, 3, 3]);
  });

  it('fetches again once the ttl passed', async () => {
    let version = 1;
    const cache = new GuardPolicyCache(async () => v(version++), { ttlMs: 1 });
    assert.equal((await cache.effective('acme')).version, 1);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal((await cache.effective('acme')).version, 2);
  });

  it('keeps the last known policy when a fetch fails, and waits before asking again', async () => {
    let fail = false;
    let fetches = 0;
    const errors: string[] = [];
    const cache = new GuardPolicyCache(
      async () => {
        fetches++;
        if (fail) throw new Error('no responders');
        return v(7, 0.9);
      },
      // The pause after a failure is capped at the ttl: long enough here that the third call below lands
      // within it even on a loaded machine (a 1 ms ttl made this test depend on timing).
      { ttlMs: 500, retryAfterErrorMs: 60_000, onError: (_t, err) => errors.push((err as Error).message) },
    );
    assert.equal((await cache.effective('acme')).version, 7);
    fail = true;
    await new Promise((r) => setTimeout(r, 510));
    assert.equal((await cache.effective('acme')).input.blockThreshold, 0.9, 'the last known policy');
    assert.equal((await cache.effective('acme')).version, 7);
    assert.equal(fetches, 2, 'no second try within retryAfterErrorMs');
    assert.deepEqual(errors, ['no responders']);
  });

  it('falls back to the default policy for a tenant never fetched', async () => {
    const cache = new GuardPolicyCache(async () => Promise.reject(new Error('down')), { ttlMs: 60_000 });
    const policy = await cache.effective('new-tenant');
    assert.equal(policy.version, 0);
    assert.equal(policy.output.enabled, true);
  });
});
