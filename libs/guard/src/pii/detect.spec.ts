import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { EntityType } from '@keelson/contracts';
import { codePointIndexer } from '../text';
import { detectSpans } from './detect';

const found = (text: string) => detectSpans(text).map((s) => [s.type, text.slice(s.start, s.end)] as [EntityType, string]);

describe('PII and secrets detection', () => {
  const positives: [EntityType, string, string][] = [
    ['EMAIL_ADDRESS', 'write to jörg.müller@beispiel.de today', 'jörg.müller@beispiel.de'],
    ['PHONE_NUMBER', 'call +44 20 7946 0958 now', '+44 20 7946 0958'],
    ['PHONE_NUMBER', 'US office (415) 555-0132 is open', '(415) 555-0132'],
    ['PHONE_NUMBER', 'Phone: 0490 75 40 81', '0490 75 40 81'],
    ['CREDIT_CARD', 'card 4111-1111-1111-1111 declined', '4111-1111-1111-1111'],
    // A number beside a card must not hide it.
    ['CREDIT_CARD', 'item 2 4111 1111 1111 1111 ok', '4111 1111 1111 1111'],
    ['CREDIT_CARD', 'w0 4111 1111 1111 1111 ok', '4111 1111 1111 1111'],
    ['CREDIT_CARD', 'charged 4111 1111 1111 1111 2 times', '4111 1111 1111 1111'],
    ['CREDIT_CARD', 'rooms 12 34 4111 1111 1111 1111', '4111 1111 1111 1111'],
    ['IBAN_CODE', 'IBAN DE89 3704 0044 0532 0130 00 please', 'DE89 3704 0044 0532 0130 00'],
    ['US_SSN', 'SSN 536-22-8470', '536-22-8470'],
    ['UK_NINO', 'NINO AB 12 34 56 C', 'AB 12 34 56 C'],
    ['ES_NIF', 'DNI 12345678Z', '12345678Z'],
    ['IP_ADDRESS', 'from 203.0.114.7 and', '203.0.114.7'],
    ['IP_ADDRESS', 'v6 2001:4860:4860::8888 too', '2001:4860:4860::8888'],
    ['DATE_OF_BIRTH', 'she was born on 14 March 1987', '14 March 1987'],
    ['STREET_ADDRESS', 'he lives at 221B Baker Street, London', '221B Baker Street'],
    ['STREET_ADDRESS', 'Lieferadresse: Hauptstraße 15, Berlin', 'Hauptstraße 15'],
    ['PERSON', 'My name is Olga Petrova and I need help', 'Olga Petrova'],
    ['PERSON', 'Dear Mr. Okafor, your order shipped', 'Okafor'],
    ['API_KEY', 'key sk-proj-4fGh7JkL9mNpQ2rStUvWxYz0AbCdEfGh here', 'sk-proj-4fGh7JkL9mNpQ2rStUvWxYz0AbCdEfGh'],
    ['API_KEY', 'x sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789 y', 'sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789'],
    ['API_KEY', 'aws AKIAIOSFODNN7EXAMPLE', 'AKIAIOSFODNN7EXAMPLE'],
    ['API_KEY', 'gh ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8', 'ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8'],
    ['API_KEY', 'slack xoxb-1234567890-0987654321-AbCdEfGh', 'xoxb-1234567890-0987654321-AbCdEfGh'],
    ['API_KEY', 'stripe sk_live_51HxYzAbCdEfGhIjKlMnOpQr', 'sk_live_51HxYzAbCdEfGhIjKlMnOpQr'],
    ['API_KEY', 'maps AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q', 'AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q'],
    ['JWT', 'jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fw', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fw'],
    ['URL_CREDENTIALS', 'postgres://admin:S3cret!@db:5432/app', 'admin:S3cret!'],
    ['PASSWORD', 'password: Tr0ub4dor&3', 'Tr0ub4dor&3'],
    ['PRIVATE_KEY', '-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----', '-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----'],
  ];
  for (const [type, text, value] of positives) {
    it(`finds ${type} in "${text.slice(0, 36)}"`, () => {
      assert.ok(found(text).some(([t, v]) => t === type && v.startsWith(value)), JSON.stringify(found(text)));
    });
  }

  it('leaves look-alikes alone: order numbers, versions, dates, ISBNs, UUIDs, non-Luhn numbers', () => {
    for (const text of [
      'Order number 4532-1234-5678 was shipped on 2024-03-02.',
      'Version 10.2.3.4 of the firmware.',
      'The meeting is at 14:30 on 12/05/2024.',
      'The ISBN is 978-3-16-148410-0.',
      'UUID 123e4567-e89b-12d3-a456-426614174000 is the request id.',
      'The number 1234 5678 9012 3456 is not a card.',
      'Use the environment variable OPENAI_API_KEY instead.',
      'The sk-learn library is useful.',
      'Reset your password using the link we sent.',
    ]) {
      assert.deepEqual(found(text), [], text);
    }
  });

  it('reports code-point offsets for text with astral characters', () => {
    const text = '😀😀 mail a@b.io';
    const [span] = detectSpans(text);
    const cp = codePointIndexer(text);
    assert.deepEqual([cp(span!.start), cp(span!.end)], [8, 14]);
    assert.equal([...text].slice(8, 14).join(''), 'a@b.io');
  });

  it('finds every entity of the project\'s own PII set (recall >= 0.95, precision >= 0.9)', () => {
    const rows = readFileSync(join(__dirname, '../../data/pii-own.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { text: string; spans: { type: EntityType; start: number; end: number }[] });
    let gold = 0;
    let hit = 0;
    let pred = 0;
    let tp = 0;
    for (const r of rows) {
      const cp = codePointIndexer(r.text);
      const p = detectSpans(r.text).map((s) => ({ type: s.type, start: cp(s.start), end: cp(s.end) }));
      const ov = (a: { type: string; start: number; end: number }, b: typeof a) => a.type === b.type && a.start < b.end && b.start < a.end;
      gold += r.spans.length;
      hit += r.spans.filter((g) => p.some((x) => ov(x, g))).length;
      pred += p.length;
      tp += p.filter((x) => r.spans.some((g) => ov(x, g))).length;
    }
    assert.ok(hit / gold >= 0.95, `recall ${hit}/${gold}`);
    assert.ok(tp / pred >= 0.9, `precision ${tp}/${pred}`);
  });
});
