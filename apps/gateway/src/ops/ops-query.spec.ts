import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { KeelsonError } from '@keelson/contracts';
import { parseReplayTarget, parseWindow } from './ops-query';

function refused(fn: () => unknown, status: number, field: string): void {
  assert.throws(fn, (err: unknown) => err instanceof KeelsonError && err.status === status && err.field === field);
}

describe('ops query parameters', () => {
  it('takes a window from 300 to 3600 seconds, 900 by default, and names `window` otherwise', () => {
    assert.equal(parseWindow({}), 900);
    assert.equal(parseWindow({ window: '3600' }), 3600);
    for (const bad of ['299', '3601', '15m', '-1', '1e3', ['300', '600']]) refused(() => parseWindow({ window: bad }), 400, 'window');
  });

  it('opens a run of the caller tenant by task or session id', () => {
    assert.deepEqual(parseReplayTarget({ taskId: 'tsk_1' }, 'dev', false), { tenant: 'dev', kind: 'task', id: 'tsk_1' });
    assert.deepEqual(parseReplayTarget({ sessionId: 'ses_1', tenant: 'dev' }, 'dev', false), { tenant: 'dev', kind: 'session', id: 'ses_1' });
  });

  it("lets only an operator open another tenant's run", () => {
    refused(() => parseReplayTarget({ tenant: 'acme', taskId: 't' }, 'dev', false), 403, 'tenant');
    assert.equal(parseReplayTarget({ tenant: 'acme', taskId: 't' }, 'ops', true).tenant, 'acme');
  });

  it('refuses both ids, neither, a malformed id or tenant, and unknown parameters, naming the field', () => {
    refused(() => parseReplayTarget({}, 'dev', false), 400, 'taskId');
    refused(() => parseReplayTarget({ taskId: 'a', sessionId: 'b' }, 'dev', false), 400, 'sessionId');
    refused(() => parseReplayTarget({ taskId: '../x' }, 'dev', false), 400, 'taskId');
    refused(() => parseReplayTarget({ tenant: 'Bad Tenant', taskId: 'a' }, 'dev', true), 400, 'tenant');
    refused(() => parseReplayTarget({ taskId: 'a', runId: 'b' }, 'dev', false), 400, 'runId');
  });
});
