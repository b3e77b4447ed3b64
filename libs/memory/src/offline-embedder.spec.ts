import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { cosineSimilarity } from './embedder';
import { OfflineEmbedder } from './offline-embedder';

describe('OfflineEmbedder', () => {
  const embedder = new OfflineEmbedder();

  it('gives deterministic, L2-normalised vectors of the configured dimension', async () => {
    const [a, b] = await embedder.embed(['I like green tea', 'I like green tea']);
    assert.equal(a!.length, 384);
    assert.deepEqual(a, b);
    assert.ok(Math.abs(Math.hypot(...a!) - 1) < 1e-6);
    assert.equal(new OfflineEmbedder({ dimension: 64 }).embedOne('x y').length, 64);
  });

  it('scores texts that share words above texts that share none (lexical, not semantic)', async () => {
    const [q, related, unrelated, synonym] = await embedder.embed([
      'what tea do I like',
      'I like green tea',
      'The invoice is due on Friday',
      'automobile',
    ]);
    const [car] = await embedder.embed(['car']);
    assert.ok(cosineSimilarity(q!, related!) > 0.5, `${cosineSimilarity(q!, related!)}`);
    assert.ok(cosineSimilarity(q!, unrelated!) < 0.1, `${cosineSimilarity(q!, unrelated!)}`);
    // Honest limit: synonyms without shared letters are not close.
    assert.ok(cosineSimilarity(car!, synonym!) < 0.3);
  });

  it('maps an empty or symbol-only text to the zero vector rather than failing', () => {
    assert.ok(embedder.embedOne('?!').every((x) => x === 0));
  });
});
