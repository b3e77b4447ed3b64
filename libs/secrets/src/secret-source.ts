import type { Secret } from './secret';
import type { SecretRef } from './secret-ref';

/** What a source returns for one reference. */
export interface SecretValue {
  secret: Secret;
  /** Changes when the stored secret changes (a file's inode/mtime/size, a Vault KV version). Not secret. */
  version: string;
  /** Re-read no later than this (a Vault lease); the registry's interval applies otherwise. */
  refreshAfterMs?: number;
}

/**
 * The port every secret backend implements. A source reads; the `Secrets` registry caches, refreshes and
 * notifies. Errors are SecretError, naming the reference and an errno or status, never the value.
 */
export interface SecretSource {
  /** For messages: `file`, `vault at https://vault:8200`. */
  readonly name: string;
  /** The reference scheme this source serves. */
  readonly scheme: SecretRef['scheme'];
  /** Reads the current value. */
  get(ref: SecretRef): Promise<SecretValue>;
  /**
   * Optional push: calls `changed` when the secret may have changed (a file watch), so the registry
   * re-reads at once instead of at the next interval. Returns a function that stops watching.
   */
  watch?(ref: SecretRef, changed: () => void): () => void;
  /** Releases timers, watchers and connections. */
  stop?(): Promise<void>;
}
