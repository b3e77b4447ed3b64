/**
 * An APPROXIMATE tokenizer: one token per whitespace-separated word. Real model tokenizers (BPE) give about
 * 1.3 tokens per English word and more for code; this one is deterministic and dependency-free, which is
 * what the offline model and usage estimates need. Never use it for billing against a real provider.
 */
export function countTokens(text: string): number {
  return text.match(/\S+/g)?.length ?? 0;
}

/** Splits text into word-sized tokens that join back to the original: `"a b"` -> `["a", " b"]`. */
export function splitTokens(text: string): string[] {
  return text.match(/\s*\S+\s*$|\s*\S+/g) ?? [];
}
