/** Turns texts into vectors. One instance, one model: the model name and dimension never change. */
export interface Embedder {
  /** Recorded with each collection; a collection refuses vectors of another model. */
  readonly model: string;
  readonly dimension: number;
  /** One vector per text, in the order given. */
  embed(texts: string[], signal?: AbortSignal): Promise<number[][]>;
}

/** Scales a vector to length 1 (a zero vector stays zero), so cosine similarity is a dot product. */
export function l2Normalise(v: Float32Array | number[]): number[] {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  return Array.from(v, (x) => (norm === 0 ? 0 : x / norm));
}

export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
