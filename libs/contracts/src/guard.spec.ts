import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { GuardInputRequestSchema, GuardPolicyInputSchema, GuardPolicyRpcRequestSchema, GuardSubjects, OutputPolicySchema } from './guard';

describe('guard contracts', () => {
  it('gives every policy field a documented default, so {} is a valid policy', () => {
    const p = GuardPolicyInputSchema.parse({});
    assert.equal(p.input.blockThreshold, 0.5);
    assert.equal(p.input.uncertainThreshold, 0.3);
    assert.deepEqual(p.input.sources, ['user', 'tool', 'memory', 'document']);
    assert.deepEqual(p.input.stage2, { enabled: false, timeoutMs: 400 });
    assert.equal(p.output.mode, 'placeholder');
    assert.deepEqual([p.output.actions, p.agents], [{}, {}]);
  });

  it('refuses unknown fields, out-of-range thresholds and unknown entity types', () => {
    assert.equal(GuardPolicyInputSchema.safeParse({ input: { blockThreshold: 1.5 } }).success, false);
    assert.equal(GuardPolicyInputSchema.safeParse({ output: { actions: { SHOE_SIZE: 'redact' } } }).success, false);
    assert.equal(GuardPolicyInputSchema.safeParse({ outputs: {} }).success, false);
    assert.equal(OutputPolicySchema.safeParse({ mode: 'shred' }).success, false);
  });

  it('defaults the input source to user and keeps requests strict', () => {
    assert.equal(GuardInputRequestSchema.parse({ text: 'x' }).source, 'user');
    assert.equal(GuardInputRequestSchema.safeParse({ text: 'x', tenant: 'other' }).success, false);
    assert.equal(GuardPolicyRpcRequestSchema.safeParse({ tenant: 'Bad Tenant' }).success, false);
  });

  it('names the RPC subjects and the per-tenant decision subject', () => {
    assert.deepEqual([GuardSubjects.inputRpc, GuardSubjects.outputRpc, GuardSubjects.policyRpc], ['keelson.rpc.guard.input', 'keelson.rpc.guard.output', 'keelson.rpc.guard.policy']);
    assert.equal(GuardSubjects.decisions('acme'), 'keelson.guard.decisions.acme');
  });
});
