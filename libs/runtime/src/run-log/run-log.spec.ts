import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { CloudEventSchema, EventTypes, RunDeltaSchema, RunStartedSchema } from '@keelson/contracts';
import { RecordingPublisher } from './recording-publisher';
import { RunLog } from './run-log';

const init = {
  subject: 'keelson.runs.dev.sessions.ses_1.2',
  tenant: 'dev',
  runId: 'ses_1:2',
  attempt: 3,
  agentId: 'assistant',
  source: '/keelson/test',
};

describe('RunLog', () => {
  it('publishes valid CloudEvents on the run subject, with the tenant and the run data', async () => {
    const publisher = new RecordingPublisher();
    await new RunLog(publisher, init).started();
    const [{ subject, event }] = publisher.published as [(typeof publisher.published)[0]];
    assert.equal(subject, init.subject);
    assert.ok(CloudEventSchema.safeParse(event).success, 'a CloudEvents 1.0 envelope');
    assert.equal(event.type, EventTypes.runStarted);
    assert.equal(event.tenantid, 'dev');
    assert.equal(event.source, '/keelson/test');
    assert.equal(event.subject, 'ses_1:2');
    assert.deepEqual(RunStartedSchema.parse(event.data), { runId: 'ses_1:2', attempt: 3, agentId: 'assistant' });
  });

  it('numbers deltas from 0 within the attempt', async () => {
    const publisher = new RecordingPublisher();
    const log = new RunLog(publisher, init);
    await log.delta('Hel');
    await log.delta('lo');
    const deltas = publisher.published.map((p) => RunDeltaSchema.parse(p.event.data));
    assert.deepEqual(
      deltas.map((d) => [d.seq, d.text]),
      [
        [0, 'Hel'],
        [1, 'lo'],
      ],
    );
  });

  it('gives every event a deterministic id, naming tenant, run, attempt and kind, used as the Nats-Msg-Id', async () => {
    const publisher = new RecordingPublisher();
    const log = new RunLog(publisher, init);
    await log.started();
    await log.delta('x');
    await log.failed({ code: 'agent_failed', message: 'boom' });
    assert.deepEqual(
      publisher.published.map((p) => p.msgId),
      ['dev:ses_1:2:3:started', 'dev:ses_1:2:3:delta:0', 'dev:ses_1:2:3:failed'],
    );
    assert.deepEqual(
      publisher.published.map((p) => p.event.id),
      publisher.published.map((p) => p.msgId),
    );
  });

  it('keeps the same run of two tenants apart in its ids (JetStream de-duplicates across tenants)', async () => {
    const a = new RecordingPublisher();
    const b = new RecordingPublisher();
    await new RunLog(a, init).started();
    await new RunLog(b, { ...init, tenant: 'acme' }).started();
    assert.notEqual(a.published[0]!.msgId, b.published[0]!.msgId);
  });
});
