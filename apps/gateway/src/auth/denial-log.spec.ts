import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { GatewayAuditDraft } from '../auditing/gateway-audit';
import { DENIAL_THROTTLE_MS, DenialLog, PLATFORM_TENANT } from './denial-log';

describe('DenialLog', () => {
  const where = { source: '10.0.0.9', method: 'POST', route: '/v1/tasks', message: 'unknown API key' };

  it('records a refusal under its tenant, or the platform tenant when the caller is unknown', () => {
    const events: GatewayAuditDraft[] = [];
    const log = new DenialLog({ noted: async (d) => void events.push(d) });
    log.record({ ...where, reason: 'unknown_key' });
    log.record({ ...where, reason: 'missing_scope', tenant: 'acme', keyId: 'k1', scope: 'invoke' });
    assert.deepEqual(events.map((e) => [e.tenant, e.type, e.apiKeyId, e.data!['reason']]), [
      [PLATFORM_TENANT, 'auth.denied', undefined, 'unknown_key'],
      ['acme', 'auth.denied', 'k1', 'missing_scope'],
    ]);
    assert.equal(events[1]!.data!['scope'], 'invoke');
  });

  it('folds a flood from one source into one event per interval that says how many it stands for', () => {
    const events: GatewayAuditDraft[] = [];
    let now = 0;
    const log = new DenialLog({ noted: async (d) => void events.push(d) }, () => now);
    for (let i = 0; i < 50; i++) log.record({ ...where, reason: 'unknown_key' });
    log.record({ ...where, source: '10.0.0.10', reason: 'unknown_key' });
    assert.equal(events.length, 2, 'another source is its own event');
    now = DENIAL_THROTTLE_MS;
    log.record({ ...where, reason: 'unknown_key' });
    assert.equal(events.length, 3);
    assert.equal(events[2]!.data!['suppressedBefore'], 49);
  });
});
