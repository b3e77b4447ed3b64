import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { AuditEvent } from '@keelson/contracts';
import { DEFAULT_EFFECTIVE_POLICY } from '@keelson/guard';
import { AuditRedactor } from './redaction';

const event = (type: string, data: Record<string, unknown>): AuditEvent => ({
  id: 'e1',
  tenant: 'acme',
  type,
  time: '2026-11-27T10:00:00.000Z',
  service: 'gateway',
  actor: { kind: 'api_key', id: 'k1' },
  data,
  refs: [],
});

describe('AuditRedactor', () => {
  const redactor = new AuditRedactor(async () => DEFAULT_EFFECTIVE_POLICY.output);

  it('scrubs PII in every string of data, at any depth', async () => {
    const out = await redactor.redact(event('tool.result', { preview: 'mail bob@example.com', nested: [{ ip: 'from 203.0.113.7' }] }));
    assert.ok(!JSON.stringify(out.data).includes('bob@example.com'));
    assert.ok(!JSON.stringify(out.data).includes('203.0.113.7'));
  });

  it("keeps the caller's address in access records, and still scrubs everything else in them", async () => {
    const out = await redactor.redact(
      event('auth.access', { sources: [{ address: '203.0.113.7', calls: 3 }], note: 'bob@example.com' }),
    );
    assert.deepEqual(out.data['sources'], [{ address: '203.0.113.7', calls: 3 }]);
    assert.ok(!String(out.data['note']).includes('bob@example.com'));
    const denied = await redactor.redact(event('auth.denied', { source: '203.0.113.8', message: 'from 203.0.113.8' }));
    assert.equal(denied.data['source'], '203.0.113.8');
    assert.ok(!String(denied.data['message']).includes('203.0.113.8'), 'only the address fields are kept');
  });
});
