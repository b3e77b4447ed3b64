import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { waitFor } from '@keelson/testing';
import { SecretError, SecretsStartError } from './errors';
import { Secret } from './secret';
import type { SecretRef } from './secret-ref';
import type { SecretSource, SecretValue } from './secret-source';
import { Secrets } from './secrets';

/** A source over a map: path -> value, or an error to throw. */
function mapSource(values: Map<string, string | Error>): SecretSource & { reads: number; stops: number } {
  return {
    name: 'map',
    scheme: 'file',
    reads: 0,
    stops: 0,
    async get(ref: SecretRef): Promise<SecretValue> {
      this.reads++;
      const v = values.get(ref.scheme === 'file' ? ref.path : '');
      if (v === undefined) throw new SecretError('not-found', `no ${ref.scheme === 'file' ? ref.path : ''}`);
      if (v instanceof Error) throw v;
      return { secret: new Secret(v), version: v.length.toString() };
    },
    async stop() {
      this.stops++;
    },
  };
}

describe('Secrets registry', () => {
  it('start() lists every failing setting with its source, sorted, and no value', async () => {
    const source = mapSource(new Map<string, string | Error>([['/a', 'value-a-secret'], ['/c', Object.assign(new Error('boom'), { code: 'EIO' })]]));
    const secrets = new Secrets({ sources: [source] }).declare('A_KEY', 'file:/a').declare('C_KEY', 'file:/c').declare('B_KEY', 'file:/b');
    const err = await secrets.start().catch((e: unknown) => e);
    assert.ok(err instanceof SecretsStartError);
    assert.deepEqual(err.failures.map((f) => [f.setting, f.source, f.error.kind]), [['B_KEY', 'map', 'not-found'], ['C_KEY', 'map', 'unavailable']]);
    assert.match(err.message, /B_KEY \(from map\): no \/b/);
    assert.match(err.message, /C_KEY \(from map\): file:\/c: EIO/);
    assert.ok(!err.message.includes('value-a-secret') && !err.message.includes('boom'));
    assert.throws(() => secrets.get('B_KEY'), /not loaded/);
  });

  it('declare() refuses a bad reference, a scheme without a source, and a duplicate', () => {
    const secrets = new Secrets({ sources: [mapSource(new Map())] });
    assert.throws(() => secrets.declare('X', 'nope'), /^SecretError: X: not a secret reference/);
    assert.throws(() => secrets.declare('Y', 'vault:kv/data/a#b'), /Y: no vault secret source is configured for vault:kv\/data\/a#b/);
    secrets.declare('Z', 'file:/z');
    assert.throws(() => secrets.declare('Z', 'file:/z'), /declared twice/);
  });

  it('a failed refresh keeps the old value and reports to onError; a change reaches every listener even if one throws', async () => {
    const values = new Map<string, string | Error>([['/k', 'first-value']]);
    const errors: string[] = [];
    const secrets = new Secrets({ sources: [mapSource(values)], refreshIntervalMs: 60_000, onError: (_s, e) => errors.push(e.message) }).declare('K', 'file:/k');
    await secrets.start();
    values.set('/k', new SecretError('unreadable', 'cannot read /k: EACCES'));
    await secrets.refresh('K');
    assert.equal(secrets.get('K').reveal(), 'first-value');
    assert.deepEqual(errors, ['K (from map): cannot read /k: EACCES']);

    const seen: string[] = [];
    secrets.onChange('K', () => {
      throw new Error('listener bug');
    });
    const off = secrets.onChange('K', (s, setting) => seen.push(`${setting}=${s.reveal()}`));
    values.set('/k', 'second-value');
    await secrets.refresh('K');
    assert.deepEqual(seen, ['K=second-value']);
    off();
    values.set('/k', 'third-value');
    await secrets.refresh('K');
    assert.deepEqual(seen, ['K=second-value'], 'no call after unsubscribing');
    await secrets.refresh('K');
    assert.equal(secrets.get('K').reveal(), 'third-value');
    await secrets.stop();
  });

  it('re-reads on its interval and stops re-reading (and stops its sources) on stop()', async () => {
    const source = mapSource(new Map([['/k', 'v']]));
    const secrets = new Secrets({ sources: [source], refreshIntervalMs: 20 }).declare('K', 'file:/k');
    await secrets.start();
    await waitFor(() => source.reads >= 3, { description: 'periodic re-reads' });
    await secrets.stop();
    const reads = source.reads;
    assert.equal(source.stops, 1);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(source.reads, reads, 'no read after stop()');
  });
});
