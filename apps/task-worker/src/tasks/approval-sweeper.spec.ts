import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Subjects } from '@keelson/contracts';
import { silentLogger } from '@keelson/messaging';
import type { DecideResult, ExpiredApproval } from '@keelson/state';
import { ApprovalSweeper, SWEEP_RETRY_MS } from './approval-sweeper';

function setup(decisions: Record<string, DecideResult>, failPublish = false) {
  const due: ExpiredApproval[] = Object.keys(decisions).map((approvalId) => ({ tenant: 'dev', approvalId }));
  const published: { subject: string; payload: unknown; msgId?: string }[] = [];
  const requeued: { approvalId: string; atMs: number }[] = [];
  const sweeper = new ApprovalSweeper({
    approvals: {
      claimExpired: async () => due.splice(0),
      decide: async (_tenant, approvalId, approved, reason) => {
        assert.deepEqual([approved, reason], [false, 'expired']);
        return decisions[approvalId]!;
      },
      indexExpiry: async ({ approvalId }, atMs) => void requeued.push({ approvalId, atMs }),
    },
    publisher: {
      publish: async (subject, payload, options) => {
        if (failPublish) throw new Error('nats down');
        published.push({ subject, payload, msgId: options?.msgId });
      },
    },
    logger: silentLogger,
    intervalMs: 1_000,
  });
  return { sweeper, published, requeued };
}

describe('ApprovalSweeper', () => {
  it('rejects each expired approval and resumes its run with the id a human decision would use', async () => {
    const { sweeper, published } = setup({ apr_a: { kind: 'expired' }, apr_b: { kind: 'expired' } });
    assert.equal(await sweeper.sweepOnce(), 2);
    assert.deepEqual(published, [
      { subject: Subjects.approval('dev', 'apr_a'), payload: { decision: 'reject', reason: 'expired' }, msgId: 'approval:dev:apr_a' },
      { subject: Subjects.approval('dev', 'apr_b'), payload: { decision: 'reject', reason: 'expired' }, msgId: 'approval:dev:apr_b' },
    ]);
    assert.equal(await sweeper.sweepOnce(), 0, 'nothing is claimed twice');
  });

  it('leaves alone an approval a human decided first, and one that is gone', async () => {
    const { sweeper, published } = setup({ apr_a: { kind: 'decided', status: 'approved' }, apr_b: { kind: 'missing' } });
    assert.equal(await sweeper.sweepOnce(), 0);
    assert.deepEqual(published, []);
  });

  it('puts an approval back on the index when its command cannot be published', async () => {
    const { sweeper, requeued } = setup({ apr_a: { kind: 'expired' } }, true);
    const before = Date.now();
    assert.equal(await sweeper.sweepOnce(), 0);
    assert.equal(requeued.length, 1);
    assert.ok(requeued[0]!.atMs >= before + SWEEP_RETRY_MS);
  });
});
