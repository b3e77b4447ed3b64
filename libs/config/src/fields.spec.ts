import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { integer, integerList } from './fields';
import { loadConfig } from './load-config';

describe('integer and integerList fields', () => {
  const schema = z.object({ MAX_DELIVER: integer(5, 1, 100), RETRY_DELAYS_MS: integerList([500, 2000]) });

  it('use their defaults and parse decimal values', () => {
    assert.deepEqual(loadConfig(schema, {}), { MAX_DELIVER: 5, RETRY_DELAYS_MS: [500, 2000] });
    assert.deepEqual(loadConfig(schema, { MAX_DELIVER: '100', RETRY_DELAYS_MS: '1,2,3' }), {
      MAX_DELIVER: 100,
      RETRY_DELAYS_MS: [1, 2, 3],
    });
  });

  it('reject out-of-range integers and malformed lists by name', () => {
    assert.throws(() => loadConfig(schema, { MAX_DELIVER: '0' }), /MAX_DELIVER: expected an integer between 1 and 100/);
    assert.throws(() => loadConfig(schema, { RETRY_DELAYS_MS: '1,,2' }), /RETRY_DELAYS_MS: expected comma-separated whole numbers/);
  });
});
