import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { EventTypes, createEvent } from '@keelson/contracts';
import { frameOf, isTerminal } from './run-log-reader';

const event = (type: string) => createEvent({ type, source: '/test', tenant: 'dev', data: {} });

describe('frameOf', () => {
  it('names every run event a client may see, tool steps included', () => {
    const names = [
      EventTypes.runStarted,
      EventTypes.runDelta,
      EventTypes.runToolCall,
      EventTypes.runToolResult,
      EventTypes.runCompleted,
      EventTypes.runFailed,
    ].map((type) => frameOf(event(type))?.name);
    assert.deepEqual(names, ['run.started', 'run.delta', 'run.tool_call', 'run.tool_result', 'run.completed', 'run.failed']);
  });

  it('skips event types it does not know, and ends only on completed or failed', () => {
    assert.equal(frameOf(event('dev.keelson.something.else.v1')), undefined);
    assert.equal(isTerminal('run.tool_result'), false);
    assert.equal(isTerminal('run.completed'), true);
  });
});
