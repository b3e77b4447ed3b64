import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { Rollout, VersionOutcomes } from '@keelson/contracts';
import { judgeRollout, pickVersion, RolloutControl, rolloutBucket, type RolloutSnapshot, type RolloutStore } from './rollout-store';

const rollout = (over: Partial<Rollout> = {}): Rollout => ({
  agentId: 'support',
  stable: '1',
  canary: '2',
  canaryShare: 0.1,
  thresholds: { maxErrorRate: 0.05, maxCostPerRunMicroUsd: 20_000, minRuns: 50 },
  state: 'running',
  pins: {},
  generation: 'gen_a',
  revision: 0,
  startedAt: '2026-11-27T00:00:00.000Z',
  updatedAt: '2026-11-27T00:00:00.000Z',
  ...over,
});

const outcomes = (version: string, runs: number, failures: number, costMicroUsd = 0): VersionOutcomes => ({
  version,
  runs,
  failures,
  costMicroUsd,
  errorRate: runs ? failures / runs : 0,
  costPerRunMicroUsd: runs ? costMicroUsd / runs : 0,
});

describe('pickVersion', () => {
  it('sends the canary share of run keys to the canary, within 1.5 points over 20,000 keys, for several shares', () => {
    for (const share of [0.01, 0.1, 0.25, 0.5, 0.9]) {
      let canary = 0;
      const n = 20_000;
      for (let i = 0; i < n; i++) if (pickVersion(rollout({ canaryShare: share }), 'dev', `ses_${i}`).arm === 'canary') canary++;
      assert.ok(Math.abs(canary / n - share) < 0.015, `share ${share}: ${canary} of ${n} went to the canary`);
    }
  });

  it('is deterministic: the same key gets the same version every time, and a key on the canary stays there as the share grows', () => {
    for (let i = 0; i < 2_000; i++) {
      const key = `tsk_${i}`;
      const first = pickVersion(rollout(), 'dev', key);
      assert.deepEqual(pickVersion(rollout(), 'dev', key), first, `key ${key} changed version`);
      if (first.arm === 'canary') assert.equal(pickVersion(rollout({ canaryShare: 0.5 }), 'dev', key).arm, 'canary', `key ${key} left the canary when the share grew`);
    }
    assert.equal(rolloutBucket('support', 'k'), rolloutBucket('support', 'k'));
    assert.notEqual(rolloutBucket('support', 'k'), rolloutBucket('other', 'k'), 'agents are bucketed independently');
  });

  it('sends everything to stable unless running, and honours a tenant pin whatever the state', () => {
    for (const state of ['paused', 'rolled_back', 'promoted'] as const) {
      for (let i = 0; i < 500; i++) assert.equal(pickVersion(rollout({ state, canaryShare: 1 }), 'dev', `k${i}`).version, '1', `state ${state}`);
    }
    assert.equal(pickVersion(rollout({ canaryShare: 1 }), 'dev', 'k').version, '2');
    assert.deepEqual(pickVersion(rollout({ canaryShare: 1, pins: { acme: '1' } }), 'acme', 'k'), { version: '1', arm: 'pinned', generation: 'gen_a' });
    assert.equal(pickVersion(rollout({ canaryShare: 0, pins: { acme: '2' } }), 'acme', 'k').version, '2');
  });

  it("keeps a session on the version it runs while the rollout serves it, and moves it off a canary that no longer does", () => {
    const keys = Array.from({ length: 400 }, (_, i) => `ses_${i}`);
    const canaryKeys = keys.filter((k) => pickVersion(rollout({ canaryShare: 0.5 }), 'dev', k).arm === 'canary');
    assert.ok(canaryKeys.length > 100, 'the hash sends some keys to the canary');
    for (const key of canaryKeys) {
      assert.equal(pickVersion(rollout({ canaryShare: 0.5 }), 'dev', key, '1').arm, 'stable', `${key}: started on stable before the rollout, stays`);
      assert.equal(pickVersion(rollout({ canaryShare: 0.5 }), 'dev', key, '0').arm, 'canary', `${key}: a version the rollout does not serve is chosen afresh`);
    }
    const stableKey = keys.find((k) => !canaryKeys.includes(k))!;
    assert.equal(pickVersion(rollout({ canaryShare: 0.1 }), 'dev', stableKey, '2').arm, 'canary', 'a session on the canary stays while it runs');
    for (const state of ['paused', 'rolled_back'] as const) {
      assert.equal(pickVersion(rollout({ state, canaryShare: 0.5 }), 'dev', stableKey, '2').version, '1', `${state}: off the canary`);
    }
    assert.equal(pickVersion(rollout({ canaryShare: 0 }), 'dev', stableKey, '2').version, '1', 'share 0: off the canary');
    assert.equal(pickVersion(rollout({ pins: { acme: '3' } }), 'acme', stableKey, '1').version, '3', 'a pin beats the session');
  });
});

describe('judgeRollout', () => {
  it('does not judge before minRuns, however bad the canary looks', () => {
    assert.equal(judgeRollout(rollout(), { stable: outcomes('1', 500, 0), canary: outcomes('2', 49, 49, 49 * 1_000_000) }), undefined);
  });

  it('rolls back on the error rate once minRuns is reached, and not at the threshold itself', () => {
    assert.equal(judgeRollout(rollout(), { stable: outcomes('1', 500, 0), canary: outcomes('2', 100, 5) }), undefined, '5% is not above 5%');
    const verdict = judgeRollout(rollout(), { stable: outcomes('1', 500, 0), canary: outcomes('2', 100, 6) });
    assert.deepEqual(verdict?.reasons, ['error rate 6.0% above 5.0%']);
    assert.equal(verdict?.canary.failures, 6);
  });

  it('rolls back on the cost per run', () => {
    assert.equal(judgeRollout(rollout(), { stable: outcomes('1', 10, 0), canary: outcomes('2', 50, 0, 50 * 20_000) }), undefined);
    const verdict = judgeRollout(rollout(), { stable: outcomes('1', 10, 0), canary: outcomes('2', 50, 0, 50 * 20_001) });
    assert.deepEqual(verdict?.reasons, ['cost per run 20001 micro-USD above 20000']);
  });

  it('compares with stable when asked to, only once stable has minRuns too', () => {
    const r = rollout({ thresholds: { maxErrorRate: 0.5, maxErrorRateAboveStable: 0.02, minRuns: 50 } });
    assert.equal(judgeRollout(r, { stable: outcomes('1', 49, 0), canary: outcomes('2', 100, 10) }), undefined);
    assert.equal(judgeRollout(r, { stable: outcomes('1', 100, 9), canary: outcomes('2', 100, 10) }), undefined);
    assert.match(judgeRollout(r, { stable: outcomes('1', 100, 2), canary: outcomes('2', 100, 10) })?.reasons[0] ?? '', /above stable's 2\.0%/);
  });

  it('leaves a rollout that is not running alone', () => {
    assert.equal(judgeRollout(rollout({ state: 'paused' }), { stable: outcomes('1', 100, 0), canary: outcomes('2', 100, 100) }), undefined);
  });
});

describe('RolloutControl', () => {
  it('keeps a change applied on this replica while a read that began before it lands', async () => {
    const empty = (): RolloutSnapshot => ({ rollouts: new Map(), killSwitches: new Map() });
    let answer!: (snapshot: RolloutSnapshot) => void;
    const store = { snapshot: () => new Promise<RolloutSnapshot>((resolve) => (answer = resolve)) } as unknown as RolloutStore;
    const control = new RolloutControl(store);
    const reading = control.refresh(); // began before the switch was written
    control.applyLocally({ setSwitch: { kind: 'agent', id: 'support', reason: 'INC-7', setAt: '2026-11-27T00:00:00.000Z' } });
    answer(empty());
    await reading;
    assert.equal(control.refusal('dev', 'support')?.code, 'agent_disabled', 'the stale read did not undo the switch');

    const next = control.refresh(); // began after: it is the truth (here the switch was cleared elsewhere)
    answer(empty());
    await next;
    assert.equal(control.refusal('dev', 'support'), undefined);
  });
});
