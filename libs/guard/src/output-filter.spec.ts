import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { OutputPolicySchema } from '@keelson/contracts';
import { filterOutput } from './output-filter';
import { InMemoryPseudonymVault, Pseudonymizer } from './pseudonyms';

const policy = (p: object = {}) => OutputPolicySchema.parse(p);
const TEXT = 'Mail ada@example.org, card 4111 1111 1111 1111.';

describe('output filter', () => {
  it('replaces values with typed placeholders and reports code-point offsets', () => {
    const r = filterOutput(`🙂 ${TEXT}`, policy());
    assert.equal(r.text, '🙂 Mail [EMAIL], card [CARD].');
    assert.deepEqual(
      r.findings.map((f) => [f.type, f.start, f.end]),
      [
        ['EMAIL_ADDRESS', 7, 22],
        ['CREDIT_CARD', 29, 48],
      ],
    );
  });

  it('masks, keeping the last four digits of a card', () => {
    assert.equal(filterOutput(TEXT, policy({ mode: 'mask' })).text, 'Mail ***************, card **** **** **** 1111.');
  });

  it('flags without redacting, skips `off` types and allowed values, and blocks the whole text on `block`', () => {
    const flagged = filterOutput(TEXT, policy({ actions: { EMAIL_ADDRESS: 'flag' } }));
    assert.match(flagged.text, /ada@example\.org/);
    assert.equal(flagged.findings[0]!.action, 'flag');
    assert.equal(filterOutput(TEXT, policy({ actions: { EMAIL_ADDRESS: 'off' } })).findings.length, 1);
    assert.match(filterOutput(TEXT, policy({ allowValues: ['ADA@example.org'] })).text, /ada@example\.org/);
    const blocked = filterOutput(TEXT, policy({ actions: { CREDIT_CARD: 'block' } }));
    assert.deepEqual([blocked.blocked, blocked.text], [true, '']);
  });

  it('pseudonymises reversibly, the same token for the same value, readable only by the same tenant', async () => {
    const vault = new InMemoryPseudonymVault();
    const p = new Pseudonymizer(Buffer.alloc(32, 7), vault);
    const r = filterOutput(`${TEXT} Again: ada@example.org`, policy({ mode: 'pseudonym' }), { tenant: 'acme', pseudonymizer: p });
    const tokens = r.text.match(/\[EMAIL_ADDRESS:[0-9a-f]{10}\]/g)!;
    assert.equal(tokens.length, 2);
    assert.equal(tokens[0], tokens[1]);
    assert.doesNotMatch(r.text, /ada@|4111/);
    await p.store('acme', r.pending);
    assert.equal(await p.reveal('acme', tokens[0]!), 'ada@example.org');
    assert.equal(await p.revealText('acme', r.text), `${TEXT} Again: ada@example.org`);
    assert.equal(await p.reveal('other', tokens[0]!), undefined);
    // A record copied into another tenant's vault does not decrypt there.
    await vault.put('other', tokens[0]!, (await vault.get('acme', tokens[0]!))!);
    await assert.rejects(p.reveal('other', tokens[0]!));
  });
});
