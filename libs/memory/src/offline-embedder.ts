import { l2Normalise, type Embedder } from './embedder';

export interface OfflineEmbedderOptions {
  /** Default 384, the size of common small sentence models, so switching costs no schema change in shape. */
  dimension?: number;
}

/**
 * A deterministic embedder that needs no model and no network: feature hashing (32-bit FNV-1a) of lower-cased word
 * unigrams, word bigrams and character trigrams (within words, with boundary marks) into a fixed number
 * of buckets, each feature with a hashed sign, then L2 normalisation.
 *
 * What it measures is LEXICAL overlap: texts that share words and word pieces score high ("I like green
 * tea" vs "do I like tea?"), while synonyms and paraphrases without shared words score near zero ("car" vs
 * "automobile"). It is there so development, tests and benchmarks run anywhere; it is not semantic search.
 * Its model name `keelson-offline-hash-v1` is recorded with the collection, so its vectors are never mixed
 * with a real model's.
 */
export class OfflineEmbedder implements Embedder {
  readonly model = 'keelson-offline-hash-v1';
  readonly dimension: number;

  constructor(options: OfflineEmbedderOptions = {}) {
    this.dimension = options.dimension ?? 384;
    if (!Number.isInteger(this.dimension) || this.dimension < 8) throw new Error('OfflineEmbedder dimension must be an integer >= 8');
  }

  embed(texts: string[]): Promise<number[][]> {
    return Promise.resolve(texts.map((t) => this.embedOne(t)));
  }

  embedOne(text: string): number[] {
    const v = new Float32Array(this.dimension);
    const words = text.toLowerCase().normalize('NFKC').match(/[\p{L}\p{N}]+/gu) ?? [];
    const add = (feature: string, weight: number) => {
      const h = fnv1a(feature);
      const bucket = (h & 0x7fffffff) % this.dimension;
      const sign = h & 0x80000000 ? 1 : -1;
      v[bucket]! += sign * weight;
    };
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      add(`w:${w}`, 1);
      if (i + 1 < words.length) add(`b:${w} ${words[i + 1]}`, 0.5);
      const marked = `<${w}>`;
      for (let j = 0; j + 3 <= marked.length; j++) add(`c:${marked.slice(j, j + 3)}`, 0.25);
    }
    return l2Normalise(v);
  }
}

/** 32-bit FNV-1a over UTF-16 code units, with a final avalanche so low bits and the sign bit both mix. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
