import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { InternalServerErrorException, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { ErrorCodes, KeelsonError } from '@keelson/contracts';
import { isDependencyUnavailable, publicServerMessage, toErrorResponse } from './error-response';

describe('toErrorResponse', () => {
  it('answers an unexpected error with 500 internal_error naming only the request id', () => {
    const { status, body } = toErrorResponse(new Error('ENOENT: open /etc/keelson/keys.json'), 'abc123');
    assert.equal(status, 500);
    assert.deepEqual(body, { error: { code: ErrorCodes.internal, message: 'internal error; the operator can find it in the logs by request id abc123' } });
  });

  it('gives a Nest 5xx exception the generic message, never its own', () => {
    const internal = toErrorResponse(new InternalServerErrorException('pool at /srv/db exhausted'), 'r1');
    assert.deepEqual([internal.status, internal.body.error.code], [500, ErrorCodes.internal]);
    const unavailable = toErrorResponse(new ServiceUnavailableException('redis down at 10.0.0.3'), 'r1');
    assert.deepEqual([unavailable.status, unavailable.body.error.code], [503, ErrorCodes.unavailable]);
    for (const { body } of [internal, unavailable]) assert.doesNotMatch(body.error.message, /srv|redis/);
  });

  it('answers a store or bus that is restarting with 503 unavailable and Retry-After, not 500', () => {
    const named = (name: string, message = 'x') => Object.assign(new Error(message), { name });
    const coded = (code: string) => Object.assign(new Error('x'), { code });
    const down = [
      named('ClientClosedError', 'The client is closed'),
      named('SocketClosedUnexpectedlyError'),
      named('ConnectionTimeoutError'),
      new Error('LOADING Redis is loading the dataset in memory'),
      coded('ECONNREFUSED'),
      coded('CONNECTION_CLOSED'),
    ];
    for (const err of down) {
      const answer = toErrorResponse(err, 'r1');
      assert.deepEqual([answer.status, answer.body.error.code, answer.retryAfterSeconds], [503, ErrorCodes.unavailable, 1], err.message);
    }
    for (const err of [new Error('WRONGTYPE Operation against a key holding the wrong kind of value'), new TypeError('x is undefined'), 'LOADING']) {
      assert.equal(isDependencyUnavailable(err), false, String(err));
      assert.equal(toErrorResponse(err).status, 500);
    }
  });

  it("passes a KeelsonError's own retryAfterSeconds on, and gives any 503 overloaded a Retry-After", () => {
    const later = Object.assign(new KeelsonError(503, ErrorCodes.overloaded, 'every responder is at capacity'), { retryAfterSeconds: 2 });
    assert.deepEqual([toErrorResponse(later).status, toErrorResponse(later).body.error.code, toErrorResponse(later).retryAfterSeconds], [503, ErrorCodes.overloaded, 2]);
    assert.equal(toErrorResponse(new KeelsonError(503, ErrorCodes.overloaded, 'busy')).retryAfterSeconds, 1);
    assert.equal(toErrorResponse(new KeelsonError(502, ErrorCodes.agentFailed, 'model failed')).retryAfterSeconds, undefined);
  });

  it('keeps a KeelsonError 5xx message but cuts file paths and stack frames out of it', () => {
    const err = new KeelsonError(503, ErrorCodes.unavailable, 'the task could not be queued: EACCES /var/lib/nats/js.dat:3\n    at publish (/app/dist/x.js:1:2)');
    const { status, body } = toErrorResponse(err);
    assert.equal(status, 503);
    assert.equal(body.error.message, 'the task could not be queued: EACCES [path]');
  });

  it('leaves 4xx messages alone', () => {
    assert.equal(toErrorResponse(new NotFoundException()).body.error.message, 'no such route');
    const err = new KeelsonError(404, ErrorCodes.taskNotFound, 'no task /v1/tasks/t1');
    assert.equal(toErrorResponse(err).body.error.message, 'no task /v1/tasks/t1');
  });

  it('maps the router errors of bad URLs to invalid_url and uri_too_long', () => {
    assert.deepEqual(toErrorResponse({ code: 'FST_ERR_BAD_URL', statusCode: 400 }).body.error.code, ErrorCodes.invalidUrl);
    assert.equal(toErrorResponse({ code: 'FST_ERR_MAX_PARAM_LENGTH', statusCode: 414 }).status, 414);
  });

  it('does not mistake "at" in a sentence for a stack frame', () => {
    assert.equal(publicServerMessage('the agent failed at step 3'), 'the agent failed at step 3');
  });
});
