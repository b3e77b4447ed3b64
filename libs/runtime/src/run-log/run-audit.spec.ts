import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditDraft, AuditSink } from '@keelson/audit';
import { RecordingPublisher } from './recording-publisher';
import { RunLog } from './run-log';

class Sink implements AuditSink {
  readonly drafts: AuditDraft[] = [];
  async record(draft: AuditDraft): Promise<void> {
    this.drafts.push(draft);
  }
}

function runLog(sink: Sink) {
  return new RunLog(new RecordingPublisher(), {
    subject: 'keelson.runs.acme.tasks.tsk_1',
    tenant: 'acme',
    runId: 'tsk_1',
    attempt: 2,
    agentId: 'echo',
    source: '/keelson/test',
    audit: { sink, taskId: 'tsk_1', actor: { kind: 'api_key', id: 'key-1' } },
  });
}

describe('RunLog audit events', () => {
  it('records every run event but the text deltas, with the run log ids, the actor and the task', async () => {
    const sink = new Sink();
    const log = runLog(sink);
    await log.started();
    await log.delta('Hel');
    await log.toolCall({ id: 'c1', name: 'http_fetch', arguments: '{"url":"https://example.com"}' });
    await log.toolResult({ callId: 'c1', name: 'http_fetch', ok: true, content: 'page body' });
    await log.completed({ agentId: 'echo', model: 'offline', output: 'Hello', finishReason: 'stop', usage: { inputTokens: 3, outputTokens: 1, totalTokens: 4 } });
    assert.deepEqual(sink.drafts.map((d) => d.type), ['run.started', 'tool.call', 'tool.result', 'run.completed']);
    assert.deepEqual(sink.drafts.map((d) => d.id), ['run:tsk_1:2:started', 'run:tsk_1:2:tool_call:0', 'run:tsk_1:2:tool_result:0', 'run:tsk_1:2:completed']);
    for (const d of sink.drafts) {
      assert.equal(d.taskId, 'tsk_1');
      assert.equal(d.runId, 'tsk_1');
      assert.deepEqual(d.actor, { kind: 'api_key', id: 'key-1' });
    }
    assert.deepEqual(sink.drafts[1]!.payloads, [{ kind: 'arguments', content: '{"url":"https://example.com"}' }]);
    assert.deepEqual(sink.drafts[2]!.payloads, [{ kind: 'tool_result', content: 'page body' }]);
    assert.equal(sink.drafts[2]!.data!['ok'], true);
    assert.deepEqual(sink.drafts[3]!.payloads, [{ kind: 'reply', content: 'Hello' }]);
    assert.equal(sink.drafts[3]!.data!['finishReason'], 'stop');
    assert.ok(!('output' in sink.drafts[3]!.data!), 'the reply travels as a payload, not in data');
  });

  it('records a failure with its error, and nothing for a run log without audit', async () => {
    const sink = new Sink();
    await runLog(sink).failed({ code: 'agent_failed', message: 'model down' });
    assert.equal(sink.drafts[0]!.type, 'run.failed');
    assert.deepEqual(sink.drafts[0]!.data!['error'], { code: 'agent_failed', message: 'model down' });
    const plain = new RunLog(new RecordingPublisher(), { subject: 's', tenant: 'acme', runId: 'r', attempt: 1, agentId: 'echo', source: '/x' });
    await plain.started();
  });
});
