import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { redisStatement } from './redis-statement';

describe('redisStatement (db.query.text of Redis spans)', () => {
  it('shows a script call\'s sha and keys, never its arguments (message text goes there)', () => {
    const statement = redisStatement('EVALSHA', ['530704da', '2', 'keelson:session:{dev:s1}', 'keelson:session:{dev:s1}:history', '1', '{"role":"user","content":"my card is 4111"}']);
    assert.equal(statement, 'EVALSHA 530704da 2 keelson:session:{dev:s1} keelson:session:{dev:s1}:history [2 other arguments]');
    assert.equal(redisStatement('EVAL', ['return 1', '0', 'secret']), 'EVAL [script] 0 [1 other arguments]');
  });

  it('shows the key of any other command and counts the rest; nothing of AUTH', () => {
    assert.equal(redisStatement('SET', ['k', 'value with text', 'EX', '60']), 'SET k [3 other arguments]');
    assert.equal(redisStatement('GET', ['k']), 'GET k');
    assert.equal(redisStatement('AUTH', ['user', 'password']), 'AUTH [2 other arguments]');
    assert.equal(redisStatement('PING', []), 'PING');
  });
});
