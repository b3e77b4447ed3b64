import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { OutputPolicySchema } from '@keelson/contracts';
import { filterOutput } from './output-filter';
import { StreamFilter } from './stream-filter';

const policy = OutputPolicySchema.parse({});

/** Canary values: none of them may ever appear in the released text, however the stream is cut. */
const CANARIES = [
  'canary.one@example.org',
  '4111 1111 1111 1111',
  '+44 20 7946 0958',
  'DE89 3704 0044 0532 0130 00',
  'sk-proj-CanaryKey0123456789abcdefXYZ',
  'AKIAIOSFODNN7CANARY1',
  'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJlY2FuYXJ5',
  '536-22-8470',
];
const TEXT = `Hello! Reach me at ${CANARIES[0]} or ${CANARIES[2]}. Card ${CANARIES[1]}, IBAN ${CANARIES[3]}. Keys: ${CANARIES[4]} and ${CANARIES[5]}; token ${CANARIES[6]}; SSN ${CANARIES[7]}. Thanks 🙂`;
const PEM = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBcanaryCANARYcanaryCANARYcanaryCANARYoAoGCCqGSM49\nAwEHoUQDQgAEcanary\n-----END EC PRIVATE KEY-----';

function run(chunks: string[], opts?: ConstructorParameters<typeof StreamFilter>[2]) {
  const f = new StreamFilter(policy, {}, opts);
  let out = '';
  for (const c of chunks) out += f.push(c);
  out += f.end();
  return { out, f };
}

const leaks = (out: string) => CANARIES.filter((c) => out.includes(c) || out.includes(c.replace(/\s/g, '')));

describe('streaming output filter', () => {
  it('never releases a canary when the text is split in two at every position', () => {
    const batch = filterOutput(TEXT, policy).text;
    for (let i = 0; i <= TEXT.length; i++) {
      const { out } = run([TEXT.slice(0, i), TEXT.slice(i)]);
      assert.deepEqual(leaks(out), [], `split at ${i}`);
      assert.equal(out, batch, `split at ${i}`);
    }
  });

  it('never releases a canary when streamed in chunks of every size from 1 to 40, with a small hold-back', () => {
    for (let size = 1; size <= 40; size++) {
      const chunks: string[] = [];
      for (let i = 0; i < TEXT.length; i += size) chunks.push(TEXT.slice(i, i + size));
      const { out } = run(chunks, { holdBack: 64 });
      assert.deepEqual(leaks(out), [], `chunk size ${size}`);
    }
  });

  it('holds an unterminated private key until its END line, cut anywhere', () => {
    const text = `key follows\n${PEM}\ndone`;
    for (let i = 0; i <= text.length; i += 3) {
      const { out } = run([text.slice(0, i), text.slice(i)], { holdBack: 16 });
      assert.doesNotMatch(out, /canary|CANARY|BEGIN EC/, `split at ${i}`);
      assert.match(out, /\[PRIVATE_KEY\]/);
    }
  });

  it('reports findings with code-point offsets into the whole stream', () => {
    const { f } = run(['🙂 mail a@', 'b.io now']);
    assert.deepEqual(f.findings.map((x) => [x.type, x.start, x.end]), [['EMAIL_ADDRESS', 7, 13]]);
  });

  it('releases text early once it is past the hold-back window', () => {
    const f = new StreamFilter(policy, {}, { holdBack: 32 });
    const first = f.push('word '.repeat(40));
    assert.ok(first.length > 100, `released ${first.length} characters`);
    assert.equal(first + f.end(), 'word '.repeat(40));
  });

  it('stops releasing anything once a `block` type is seen', () => {
    const f = new StreamFilter(OutputPolicySchema.parse({ actions: { API_KEY: 'block' } }), {}, { holdBack: 16 });
    const out = f.push('fine text here and more fine text ') + f.push(`then ${CANARIES[4]} and `) + f.push('more words '.repeat(10)) + f.end();
    assert.ok(f.blocked);
    assert.ok(!out.includes('sk-proj'));
  });
});
