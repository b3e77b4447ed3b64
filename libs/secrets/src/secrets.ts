import { SecretError, SecretsStartError, asSecretError } from './errors';
import type { Secret } from './secret';
import { formatSecretRef, parseSecretRef, type SecretRef } from './secret-ref';
import type { SecretSource } from './secret-source';

export interface SecretsOptions {
  sources: SecretSource[];
  /** Re-read every secret this often (the fallback for missed file events; Vault's rotation check). Default 60 s. */
  refreshIntervalMs?: number;
  /** A refresh that failed after start: the old value stays in use. Log `error.message`; it holds no secret. */
  onError?: (setting: string, error: SecretError) => void;
}

type Listener = (secret: Secret, setting: string) => void;

interface Entry {
  setting: string;
  ref: SecretRef;
  source: SecretSource;
  secret?: Secret;
  version?: string;
  refreshAfterMs?: number;
  timer?: NodeJS.Timeout;
  unwatch?: () => void;
  refreshing?: Promise<void>;
  again?: boolean;
  listeners: Set<Listener>;
}

/**
 * The secrets a service declares, fetched at start, kept current, and announced when they rotate.
 *
 *   const secrets = new Secrets({ sources: [new FileSecretSource(), vault] });
 *   secrets.declare('OPENAI_API_KEY', 'vault:kv/data/keelson/openai#api_key');
 *   await secrets.start();                       // throws SecretsStartError naming every missing one
 *   const client = makeClient(secrets.get('OPENAI_API_KEY').reveal());
 *   secrets.onChange('OPENAI_API_KEY', (key) => client.setApiKey(key.reveal()));
 */
export class Secrets {
  private readonly entries = new Map<string, Entry>();
  private readonly intervalMs: number;
  private started = false;
  private stopped = false;

  constructor(private readonly options: SecretsOptions) {
    this.intervalMs = options.refreshIntervalMs ?? 60_000;
  }

  /** Declares a secret by its setting name and reference text (parsed now: a bad one throws at once). */
  declare(setting: string, ref: string | SecretRef): this {
    if (this.started) throw new Error(`declare ${setting} before start()`);
    if (this.entries.has(setting)) throw new Error(`${setting} is declared twice`);
    const parsed = typeof ref === 'string' ? parseSecretRef(ref, setting) : ref;
    const source = this.options.sources.find((s) => s.scheme === parsed.scheme);
    if (!source) throw new SecretError('bad-ref', `${setting}: no ${parsed.scheme} secret source is configured for ${formatSecretRef(parsed)}`);
    this.entries.set(setting, { setting, ref: parsed, source, listeners: new Set() });
    return this;
  }

  /** Fetches every declared secret; throws SecretsStartError listing each that failed. Then keeps them fresh. */
  async start(): Promise<void> {
    if (this.started) return;
    const failures: SecretsStartError['failures'] = [];
    await Promise.all(
      [...this.entries.values()].map(async (entry) => {
        try {
          await this.load(entry);
        } catch (err) {
          failures.push({ setting: entry.setting, source: entry.source.name, error: this.toSecretError(entry, err) });
        }
      }),
    );
    if (failures.length) {
      failures.sort((a, b) => a.setting.localeCompare(b.setting));
      throw new SecretsStartError(failures);
    }
    this.started = true;
    for (const entry of this.entries.values()) {
      entry.unwatch = entry.source.watch?.(entry.ref, () => void this.refresh(entry.setting));
      this.schedule(entry, entry.refreshAfterMs);
    }
  }

  /** The current value. Throws if the setting was not declared or start() has not succeeded. */
  get(setting: string): Secret {
    const entry = this.entries.get(setting);
    if (!entry) throw new Error(`${setting} is not a declared secret`);
    if (!entry.secret) throw new Error(`${setting} is not loaded: call start() first`);
    return entry.secret;
  }

  /** Calls `listener` with the new value each time the secret changes. Returns an unsubscribe function. */
  onChange(setting: string, listener: Listener): () => void {
    const entry = this.entries.get(setting);
    if (!entry) throw new Error(`${setting} is not a declared secret`);
    entry.listeners.add(listener);
    return () => entry.listeners.delete(listener);
  }

  /** Re-reads one secret now (coalesced with a refresh already running); errors go to onError. */
  async refresh(setting: string): Promise<void> {
    const entry = this.entries.get(setting);
    if (!entry || this.stopped) return;
    if (entry.refreshing) {
      entry.again = true;
      return entry.refreshing;
    }
    entry.refreshing = (async () => {
      do {
        entry.again = false;
        try {
          await this.load(entry);
        } catch (err) {
          this.options.onError?.(entry.setting, this.wrap(entry, err));
        }
      } while (entry.again && !this.stopped);
    })().finally(() => (entry.refreshing = undefined));
    return entry.refreshing;
  }

  /** Stops the registry's timers and watchers, and its sources' (unless `keepSources`, for shared sources). */
  async stop(options: { keepSources?: boolean } = {}): Promise<void> {
    this.stopped = true;
    for (const entry of this.entries.values()) {
      clearTimeout(entry.timer);
      entry.unwatch?.();
    }
    if (!options.keepSources) await Promise.all(this.options.sources.map((s) => s.stop?.()));
  }

  private async load(entry: Entry): Promise<void> {
    const value = await entry.source.get(entry.ref);
    const changed = entry.secret !== undefined && !entry.secret.equals(value.secret);
    entry.secret = value.secret;
    entry.version = value.version;
    entry.refreshAfterMs = value.refreshAfterMs;
    if (this.started) this.schedule(entry, value.refreshAfterMs);
    if (changed) {
      for (const listener of entry.listeners) {
        try {
          listener(value.secret, entry.setting);
        } catch {
          // A listener's failure is its own; the others still hear of the change.
        }
      }
    }
  }

  private schedule(entry: Entry, refreshAfterMs: number | undefined): void {
    if (this.stopped) return;
    clearTimeout(entry.timer);
    const delay = Math.max(10, Math.min(this.intervalMs, refreshAfterMs ?? Infinity));
    entry.timer = setTimeout(() => void this.refresh(entry.setting), delay);
    entry.timer.unref();
  }

  private toSecretError(entry: Entry, err: unknown): SecretError {
    return asSecretError(err, (code) => new SecretError('unavailable', `${formatSecretRef(entry.ref)}: ${code}`));
  }

  private wrap(entry: Entry, err: unknown): SecretError {
    const e = this.toSecretError(entry, err);
    return new SecretError(e.kind, `${entry.setting} (from ${entry.source.name}): ${e.message}`);
  }
}

/**
 * The reference a service's settings give for `name`: `<name>_FILE` (a mounted file's path, the form the
 * configuration already uses) or `<name>_REF` (any reference). Undefined when neither is set; both set is
 * an error, since one would silently win.
 */
export function secretRefFromSettings(env: Record<string, string | undefined>, name: string): SecretRef | undefined {
  const file = env[`${name}_FILE`] || undefined;
  const ref = env[`${name}_REF`] || undefined;
  if (file && ref) throw new SecretError('bad-ref', `${name}: set ${name}_FILE or ${name}_REF, not both`);
  if (file) return parseSecretRef(file.startsWith('file:') ? file : `file:${file}`, `${name}_FILE`);
  if (ref) return parseSecretRef(ref, `${name}_REF`);
  return undefined;
}
