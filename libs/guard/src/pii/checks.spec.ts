import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { cardValid, esNifValid, ibanValid, luhnValid, ninoValid, ssnValid } from './checks';

describe('identifier check rules', () => {
  it('Luhn and issuer prefixes for cards', () => {
    assert.ok(luhnValid('4111111111111111'));
    assert.ok(!luhnValid('4111111111111112'));
    assert.ok(cardValid('378282246310005'));
    assert.ok(cardValid('5555555555554444'));
    assert.ok(!cardValid('1234567812345670'), 'no issuer starts with 1234');
    assert.ok(!cardValid('0000000000000000'));
  });

  it('IBAN length per country and mod-97', () => {
    assert.ok(ibanValid('DE89 3704 0044 0532 0130 00'));
    assert.ok(ibanValid('gb82west12345698765432'));
    assert.ok(!ibanValid('DE89 3704 0044 0532 0130 01'));
    assert.ok(!ibanValid('DE89370400440532013'), 'too short for DE');
    assert.ok(!ibanValid('QQ89370400440532013000'), 'unknown country');
  });

  it('US SSN area, group and serial rules', () => {
    assert.ok(ssnValid('536', '22', '8470'));
    for (const [a, g, s] of [['000', '12', '3456'], ['666', '12', '3456'], ['912', '12', '3456'], ['123', '00', '4567'], ['123', '45', '0000'], ['078', '05', '1120']]) {
      assert.ok(!ssnValid(a!, g!, s!), `${a}-${g}-${s}`);
    }
  });

  it('UK NINO prefixes and suffix', () => {
    assert.ok(ninoValid('AB 12 34 56 C'));
    assert.ok(!ninoValid('QQ 12 34 56 C'), 'Q is never a first letter');
    assert.ok(!ninoValid('GB 12 34 56 C'));
    assert.ok(!ninoValid('AB 12 34 56 E'));
  });

  it('Spanish DNI and NIE check letters', () => {
    assert.ok(esNifValid('12345678Z'));
    assert.ok(!esNifValid('12345678A'));
    assert.ok(esNifValid('X1234567L'));
    assert.ok(!esNifValid('X1234567A'));
  });
});
