import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuditEventSchema, MAX_AUDIT_EVENT_BYTES, type AuditRef } from '@keelson/contracts';
import { AuditTrail, type AuditPublisher, type PayloadSink } from './audit-trail';

class Recording implements AuditPublisher {
  readonly sent: { subject: string; payload: unknown; msgId?: string }[] = [];
  fail = false;
  async publish(subject: string, payload: unknown, options?: { msgId?: string }): Promise<unknown> {
    if (this.fail) throw new Error('nats: timeout');
    this.sent.push({ subject, payload, ...(options?.msgId ? { msgId: options.msgId } : {}) });
    return {};
  }
}

const base = { id: 'run:tsk_1:1:started', tenant: 'acme', type: 'run.started' };

describe('AuditTrail', () => {
  it('publishes a valid event on the tenant and category subject, the tenant-qualified id as Nats-Msg-Id', async () => {
    const pub = new Recording();
    await new AuditTrail(pub, { service: 'task-worker' }).record({ ...base, taskId: 'tsk_1', data: { attempt: 1 } });
    assert.equal(pub.sent.length, 1);
    assert.equal(pub.sent[0]!.subject, 'keelson.audit.acme.run');
    assert.equal(pub.sent[0]!.msgId, 'acme:run:tsk_1:1:started');
    const event = AuditEventSchema.parse(pub.sent[0]!.payload);
    assert.equal(event.service, 'task-worker');
    assert.deepEqual(event.actor, { kind: 'service', id: 'task-worker' });
    assert.equal(event.taskId, 'tsk_1');
    assert.deepEqual(event.data, { attempt: 1 });
  });

  it('keeps a small payload inline and offloads a large one through the sink, scrubbed first', async () => {
    const offloaded: string[] = [];
    const ref: AuditRef = { kind: 'tool_result', bucket: 'local-us-east-1-keelson-payloads', key: 'acme/x', sha256: 'a'.repeat(64), bytes: 5_000 };
    const sink: PayloadSink = {
      maybeOffload: async (_tenant, _kind, content) => {
        offloaded.push(content);
        return { ref };
      },
    };
    const pub = new Recording();
    const trail = new AuditTrail(pub, { service: 'session-agent', payloads: sink, inlineLimitBytes: 100, redact: (_t, text) => text.replace(/secret/g, '[X]') });
    await trail.record({ ...base, payloads: [{ kind: 'arguments', content: 'secret small' }, { kind: 'tool_result', content: 'secret '.repeat(100) }] });
    const event = AuditEventSchema.parse(pub.sent[0]!.payload);
    assert.equal(event.data['arguments'], 'secret small', 'inline text is scrubbed by audit-service, not here');
    assert.deepEqual(event.refs, [ref]);
    assert.equal(offloaded.length, 1);
    assert.ok(!offloaded[0]!.includes('secret'), 'an offloaded payload leaves scrubbed');
  });

  it('without object storage keeps a large payload as digest, size and preview', async () => {
    const pub = new Recording();
    await new AuditTrail(pub, { service: 'gateway', inlineLimitBytes: 10 }).record({ ...base, payloads: [{ kind: 'reply', content: 'x'.repeat(1_000) }] });
    const kept = AuditEventSchema.parse(pub.sent[0]!.payload).data['reply'] as Record<string, unknown>;
    assert.equal(kept['offloaded'], false);
    assert.equal(kept['bytes'], 1_000);
    assert.match(String(kept['sha256']), /^[0-9a-f]{64}$/);
    assert.equal(String(kept['preview']).length, 256);
  });

  it('refuses a draft that breaks the contract, naming the field, and publishes nothing', async () => {
    const pub = new Recording();
    const trail = new AuditTrail(pub, { service: 'gateway' });
    await assert.rejects(trail.record({ ...base, type: 'nonsense.thing' }), /type/);
    await assert.rejects(trail.record({ ...base, tenant: 'Not A Tenant' }), /tenant/);
    assert.equal(pub.sent.length, 0);
  });

  it('refuses an event over the size limit instead of publishing it', async () => {
    const pub = new Recording();
    const trail = new AuditTrail(pub, { service: 'gateway' });
    await assert.rejects(trail.record({ ...base, data: { big: 'y'.repeat(MAX_AUDIT_EVENT_BYTES) } }), /over 32768/);
    assert.equal(pub.sent.length, 0);
  });

  it('passes a publish failure to the caller', async () => {
    const pub = new Recording();
    pub.fail = true;
    await assert.rejects(new AuditTrail(pub, { service: 'gateway' }).record(base), /nats: timeout/);
  });
});
