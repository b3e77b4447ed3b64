import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
// A contract suite is test code (only *.spec.ts files run it), so it may use the test harness.
// eslint-disable-next-line no-restricted-imports
import { waitFor } from '@keelson/testing';
import { SecretError, SecretsStartError } from '../errors';
import type { Secret } from '../secret';
import { parseSecretRef } from '../secret-ref';
import type { SecretSource } from '../secret-source';
import { Secrets } from '../secrets';

/** A source on fresh storage, and a way to write behind its back as the platform or an operator would. */
export interface SecretSourceFixture {
  source: SecretSource;
  /** Stores (first time) or rotates (later) the secret `key`; returns its reference text. */
  put(key: string, value: string): Promise<string>;
  /** A reference to a secret that does not exist. */
  missing(key: string): string;
  close(): Promise<void>;
}

export interface SecretSourceContractSubject {
  open(): Promise<SecretSourceFixture>;
}

/** A value no message could contain by chance. */
export const secretValue = (): string => `sk-test-${randomBytes(16).toString('hex')}`;
const key = (): string => `k${randomBytes(4).toString('hex')}`;

/** Asserts that none of the ways a value reaches a log shows the secret. */
export function assertMasked(secret: Secret, value: string): void {
  for (const shown of [String(secret), `${secret}`, JSON.stringify({ secret }), inspect(secret), inspect({ nested: { secret } }, { depth: 5 })]) {
    assert.ok(!shown.includes(value), `expected no secret in ${shown}`);
    assert.ok(shown.includes('[secret]'), `expected [secret] in ${shown}`);
  }
}

/** One behaviour contract for every SecretSource; `skip` (a reason) reports it as one skipped test. */
export function describeSecretSourceContract(name: string, subject: SecretSourceContractSubject, options: { skip?: string } = {}): void {
  if (options.skip) {
    it(`SecretSource contract: ${name}`, { skip: options.skip }, () => undefined);
    return;
  }
  describe(`SecretSource contract: ${name}`, () => {
    let f: SecretSourceFixture;
    before(async () => {
      f = await subject.open();
    });
    after(async () => {
      await f?.source.stop?.();
      await f?.close();
    });

    it('reads the stored value as a Secret that prints [secret] in strings, JSON and inspect', async () => {
      const value = secretValue();
      const ref = await f.put(key(), value);
      const got = await f.source.get(parseSecretRef(ref, 'TEST_SECRET'));
      assert.equal(got.secret.reveal(), value);
      assert.ok(got.version, 'expected a version');
      assertMasked(got.secret, value);
    });

    it('a missing secret is a not-found SecretError naming the reference', async () => {
      const ref = f.missing(key());
      const err = await f.source.get(parseSecretRef(ref, 'TEST_SECRET')).then(
        () => assert.fail('expected a not-found error'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof SecretError, `expected a SecretError, got ${String(err)}`);
      assert.equal(err.kind, 'not-found', err.message);
    });

    it('start() fails naming the setting and the source of a missing secret, never a value', async () => {
      const value = secretValue();
      const secrets = new Secrets({ sources: [f.source] })
        .declare('PRESENT_API_KEY', await f.put(key(), value))
        .declare('ABSENT_API_KEY', f.missing(key()));
      const err = await secrets.start().then(
        () => assert.fail('expected start() to fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof SecretsStartError, `expected SecretsStartError, got ${String(err)}`);
      assert.match(err.message, /ABSENT_API_KEY/);
      assert.ok(err.message.includes(f.source.name), `expected the source name in: ${err.message}`);
      assert.ok(!err.message.includes('PRESENT_API_KEY'), `only the failing setting is listed: ${err.message}`);
      assert.ok(!err.message.includes(value) && !inspect(err).includes(value), 'the error holds no secret');
      await secrets.stop({ keepSources: true });
    });

    it('a rotated secret reaches onChange subscribers and get(), with a new version', async () => {
      const k = key();
      const first = secretValue();
      const second = secretValue();
      const ref = await f.put(k, first);
      const before = await f.source.get(parseSecretRef(ref, 'ROTATING_API_KEY'));
      const secrets = new Secrets({ sources: [f.source], refreshIntervalMs: 100 }).declare('ROTATING_API_KEY', ref);
      await secrets.start();
      try {
        const seen: string[] = [];
        secrets.onChange('ROTATING_API_KEY', (s) => seen.push(s.reveal()));
        assert.equal(secrets.get('ROTATING_API_KEY').reveal(), first);
        await f.put(k, second);
        await waitFor(() => seen.includes(second), { description: 'onChange with the rotated value', timeoutMs: 10_000 });
        assert.equal(secrets.get('ROTATING_API_KEY').reveal(), second);
        const afterRotation = await f.source.get(parseSecretRef(ref, 'ROTATING_API_KEY'));
        assert.notEqual(afterRotation.version, before.version);
      } finally {
        await secrets.stop({ keepSources: true }); // the fixture's source serves the other tests
      }
    });
  });
}
