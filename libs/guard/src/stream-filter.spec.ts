import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { OutputPolicySchema } from '@keelson/contracts';
import { filterOutput } from './output-filter';
import { InMemoryPseudonymVault, Pseudonymizer } from './pseudonyms';
import { StreamFilter } from './stream-filter';

const policy = OutputPolicySchema.parse({});
const RUNS = Number(process.env['KEELSON_FUZZ_RUNS'] ?? 150);
const SEED = Number(process.env['KEELSON_FUZZ_SEED'] ?? 20261127);

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

/** One value of every type the output filter redacts, each in the words a reply would put around it. */
const PII: readonly string[] = [
  'reach me at anna.berg@example.org',
  'Call +44 20 7946 0958 now',
  'my phone: (555) 123-4567',
  'Phone:\n030 1234567',
  'card 4111 1111 1111 1111',
  'card 5500-0000-0000-0004',
  'IBAN DE89 3704 0044 0532 0130 00',
  'IBAN GB29 NWBK 6016 1331 9268 19',
  'ssn 536-22-8470',
  'NINO AB 12 34 56 C',
  'NIF 12345678Z',
  'from 192.168.10.24',
  'ip 2001:db8::8a2e:370:7334',
  'she was born on 12 March 1984',
  'He lives at 221 Baker Street, London NW1 6XE',
  'send it to Hauptstraße 12',
  'the office is on via Roma 5',
  'I met Anna Berg yesterday',
  'my name is Priya Raghunathan',
  'Dr. Kovacs will call',
  'use https://admin:s3cretPw@db.example.com',
  'password: Hunter2xyz',
  'key sk-proj-CanaryKey0123456789abcdefXYZ',
  'AKIAIOSFODNN7CANARY1',
  'token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJlY2FuYXJ5',
  PEM,
];
/**
 * Fragments that change a verdict from after a value: a name's "is a" or "inc", a phone's "office" or a
 * street after its number, an extension, an address cue whose clause runs on over plain words.
 */
const TURNS: readonly string[] = [
  'with Kowalczyk',
  'Anna Berg',
  'is a',
  'is the',
  'said',
  "'s address",
  'inc',
  'office',
  'x 12',
  'main road Street',
  'call 555 123 4567',
  '12',
  'lives at',
  'the tenant, Priya Raghunathan, reported',
  'via',
  'de Vries',
];
const WORDS = ['the', 'a', 'reply', 'model', 'is', 'ready', 'to', 'help', 'with', 'that', 'w0', 'w12', 'may', 'unit', 'and', 'of', 'de', 'x', 'it', 'works'];
const STARTS = ['Sure,', 'Thanks', 'The', 'I', 'Here', 'Yes.', 'Note:'];

const prose = fc
  .tuple(fc.option(fc.constantFrom(...STARTS), { nil: undefined }), fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 12 }))
  .map(([start, words]) => [start, ...words].filter(Boolean).join(' '));
const separator = fc.constantFrom(' ', ' ', ' ', '. ', ', ', '\n', '\n\n', '! ', ' 🙂 ');
/** A reply: prose and values of every type, in any order and separated any way. */
const reply = fc
  .array(fc.tuple(fc.oneof(prose, fc.constantFrom(...PII), fc.constantFrom(...TURNS)), separator), { minLength: 1, maxLength: 10 })
  .map((parts) => parts.map(([p, s]) => p + s).join(''));
/** Cut points into a text of `length`: any number, anywhere. */
const chunking = (length: number) => fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, length - 1) }), { maxLength: 40 }).map((cuts) => cuts.sort((a, b) => a - b));

function split(text: string, cuts: readonly number[]): string[] {
  const chunks: string[] = [];
  let from = 0;
  for (const c of [...cuts, text.length]) {
    if (c > from) chunks.push(text.slice(from, c));
    from = Math.max(from, c);
  }
  return chunks;
}

function run(chunks: string[], opts?: ConstructorParameters<typeof StreamFilter>[2]) {
  const f = new StreamFilter(policy, {}, opts);
  let out = '';
  for (const c of chunks) out += f.push(c);
  out += f.end();
  return { out, f };
}

/**
 * Streams `chunks` and checks after every chunk that what was released so far is a prefix of the whole-text
 * filter's output (so no value is ever released in part or unredacted), then that the two agree exactly.
 */
function assertStreamsLikeWhole(text: string, chunks: string[], makeFilter = () => new StreamFilter(policy), whole = filterOutput(text, policy)): void {
  const f = makeFilter();
  let out = '';
  for (const [i, c] of chunks.entries()) {
    out += f.push(c);
    if (!whole.text.startsWith(out)) {
      assert.fail(`after chunk ${i} of ${JSON.stringify(chunks)} released ${JSON.stringify(out)}, not a prefix of ${JSON.stringify(whole.text)}`);
    }
  }
  out += f.end();
  assert.equal(out, whole.text, `chunks ${JSON.stringify(chunks)}`);
  assert.deepEqual(f.findings, whole.findings, `findings for chunks ${JSON.stringify(chunks)}`);
}

const leaks = (out: string) => CANARIES.filter((c) => out.includes(c) || out.includes(c.replace(/\s/g, '')));

describe('streaming output filter', () => {
  it('releases the same text and findings as the whole-text filter, and only prefixes of it, for any reply cut anywhere', () => {
    fc.assert(
      fc.property(
        reply.chain((text) => fc.tuple(fc.constant(text), chunking(text.length))),
        ([text, cuts]) => assertStreamsLikeWhole(text, split(text, cuts)),
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('releases the same text as the whole-text filter when streamed one character at a time', () => {
    fc.assert(
      fc.property(reply, (text) => assertStreamsLikeWhole(text, [...text])),
      { numRuns: Math.ceil(RUNS / 3), seed: SEED },
    );
  });

  it('gives the same pseudonyms streamed as whole', () => {
    const vault = new InMemoryPseudonymVault();
    const pseudonymizer = new Pseudonymizer(Buffer.alloc(32, 7), vault);
    const mode = OutputPolicySchema.parse({ mode: 'pseudonym' });
    const ctx = { tenant: 'acme', pseudonymizer };
    fc.assert(
      fc.property(
        reply.chain((text) => fc.tuple(fc.constant(text), chunking(text.length))),
        ([text, cuts]) => {
          const whole = filterOutput(text, mode, ctx);
          assertStreamsLikeWhole(text, split(text, cuts), () => new StreamFilter(mode, ctx), whole);
          const streamed = new StreamFilter(mode, ctx);
          for (const c of split(text, cuts)) streamed.push(c);
          streamed.end();
          assert.deepEqual(streamed.pending.map((p) => p.token), whole.pending.map((p) => p.token));
        },
      ),
      { numRuns: Math.ceil(RUNS / 3), seed: SEED },
    );
  });

  it('holds the first words of a line while they may still be an address line ("Main road 5" over a town)', () => {
    const f = new StreamFilter(policy);
    assert.equal(f.push('the card '), '');
    assert.equal(f.push('is not '), '');
    assert.equal(f.push('here '), 'the card is not here ');
  });

  it('waits for the words that change a verdict after a value, streamed word by word and character by character', () => {
    const texts = [
      'It is all good and we had 12 main road Street is here and more words follow. ',
      'It is all good and we met with Kowalczyk is a good one and more words here ok ',
      'It is all good and we met with Kowalczyk is fine and more words here ok ',
      'It is all good, we talked to the tenant, Priya Raghunathan, reported it and more words follow here. ',
      'It is all good and you can call 555 123 4567 office hours are long and more words follow. ',
      'It is all good and you can call 555 123 4567 x 12 for it and more words follow here ok. ',
      'It is all good and she now lives at 4 the end of the lane near the old church and more words follow. ',
      'It is all good, the office is on via della Scala 5 in town and more words follow here ok. ',
      'It is all good, we met Anna Berg and co yesterday and more words follow here ok. ',
      'It is all good, the parcel goes to apo ae 09001 by ship and more words follow here ok. ',
    ];
    for (const text of texts) {
      assertStreamsLikeWhole(text, text.split(/(?<= )/));
      assertStreamsLikeWhole(text, [...text]);
    }
  });

  it('redacts a word of a name found earlier wherever it comes later, as the whole-text filter does', () => {
    const filler = 'and then we went on talking about the weather and the model and the reply for a long while, ';
    const text = `We went out, and I met Anna Berg yesterday. ${filler.repeat(3)}and later Berg said it was fine and Anna agreed. `;
    const whole = filterOutput(text, policy);
    assert.equal(whole.findings.filter((f) => f.type === 'PERSON').length, 3, 'the whole-text filter finds the name and both later words');
    assertStreamsLikeWhole(text, text.split(/(?<= )/));
    assertStreamsLikeWhole(text, [...text]);
  });

  it('releases plain words at once when each chunk ends in whitespace', () => {
    const f = new StreamFilter(policy);
    assert.equal(f.push('w0 '), 'w0 ');
    assert.equal(f.push('w1 '), 'w1 ');
    assert.equal(f.push('w2 '), 'w2 ');
    assert.equal(f.push('Sure, the reply is ready. '), 'Sure, the reply is ready. ');
    assert.equal(f.end(), '');
  });

  it('holds a word until whitespace ends it, and a card number until its last group has arrived', () => {
    const f = new StreamFilter(policy);
    assert.equal(f.push('Here is what you asked for, the car'), 'Here is what you asked for, the ');
    assert.equal(f.push('d is '), 'card is ');
    assert.equal(f.push('4111 1111 '), '');
    assert.equal(f.push('1111 1111 '), '');
    assert.equal(f.push('and that is '), '');
    assert.equal(f.push('all for now '), '[CARD] and that is all for now ');
  });

  it('holds a name until what follows it can no longer change the verdict', () => {
    const f = new StreamFilter(policy);
    assert.equal(f.push('We went out, and then I met Anna '), 'We went out, and then I met ');
    assert.equal(f.push('Berg '), '');
    let out = '';
    for (const w of 'yesterday at the market and we talked about the weather for a while '.split(/(?<= )/)) out += f.push(w);
    out += f.end();
    assert.equal(out, '[PERSON] yesterday at the market and we talked about the weather for a while ');
  });

  it('never releases a canary when the text is split in two at every position', () => {
    const batch = filterOutput(TEXT, policy).text;
    for (let i = 0; i <= TEXT.length; i++) {
      const { out } = run([TEXT.slice(0, i), TEXT.slice(i)]);
      assert.deepEqual(leaks(out), [], `split at ${i}`);
      assert.equal(out, batch, `split at ${i}`);
    }
  });

  it('never releases a canary when streamed in chunks of every size from 1 to 40', () => {
    const batch = filterOutput(TEXT, policy).text;
    for (let size = 1; size <= 40; size++) {
      const chunks: string[] = [];
      for (let i = 0; i < TEXT.length; i += size) chunks.push(TEXT.slice(i, i + size));
      assertStreamsLikeWhole(TEXT, chunks);
      assert.deepEqual(leaks(run(chunks).out), [], `chunk size ${size}`);
      assert.equal(run(chunks).out, batch);
    }
  });

  it('holds an unterminated private key until its END line, cut anywhere', () => {
    const text = `key follows\n${PEM}\ndone`;
    for (let i = 0; i <= text.length; i += 3) {
      const { out } = run([text.slice(0, i), text.slice(i)]);
      assert.doesNotMatch(out, /canary|CANARY|BEGIN EC/, `split at ${i}`);
      assert.match(out, /\[PRIVATE_KEY\]/);
    }
  });

  it('reports findings with code-point offsets into the whole stream', () => {
    const { f } = run(['🙂 mail a@', 'b.io now']);
    assert.deepEqual(f.findings.map((x) => [x.type, x.start, x.end]), [['EMAIL_ADDRESS', 7, 13]]);
  });

  it('releases an unbroken token past maxHold, keeping its tail', () => {
    const f = new StreamFilter(policy, {}, { maxHold: 1024 });
    const blob = 'q'.repeat(2000);
    const first = f.push(`start ${blob}`);
    assert.ok(first.length > 1000, `released ${first.length} characters`);
    assert.equal(first + f.end(), `start ${blob}`);
  });

  it('stops releasing anything once a `block` type is seen', () => {
    const f = new StreamFilter(OutputPolicySchema.parse({ actions: { API_KEY: 'block' } }));
    const out = f.push('fine text here and more fine text ') + f.push(`then ${CANARIES[4]} and `) + f.push('more words '.repeat(10)) + f.end();
    assert.ok(f.blocked);
    assert.ok(!out.includes('sk-proj'));
  });
});
