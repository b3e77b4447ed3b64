import { SecretError } from './errors';
import type { Secret } from './secret';
import type { SecretSource } from './secret-source';
import { Secrets, secretRefFromSettings } from './secrets';
import { FileSecretSource } from './sources/file-secret-source';
import { VaultSecretSource } from './sources/vault-secret-source';

/** Where Vault is, for `<NAME>_REF=vault:...` settings (libs/config secretsLayerSettings). */
export interface SecretsLayerSettings {
  VAULT_ADDR?: string | undefined;
  /** A file holding the Vault token (a Vault Agent sink, a mounted secret); the VAULT_TOKEN variable is never read. */
  VAULT_TOKEN_FILE?: string | undefined;
  /** Kubernetes auth instead of a token file: the Vault role this pod's service account logs in as. */
  VAULT_KUBERNETES_ROLE?: string | undefined;
  VAULT_NAMESPACE?: string | undefined;
}

export interface SettingsSecretsOptions {
  /** A world-readable secret file, a Vault token renewal that failed: names and paths only. */
  onWarning?: (message: string) => void;
  /** A re-read after start failed (the old value stays in use). The message holds no secret. */
  onError?: (message: string) => void;
  /** Default 60 s (Secrets' default); files are also re-read at once when their directory changes. */
  refreshIntervalMs?: number;
}

/**
 * The secrets a service's loaded settings point at, fetched and kept current: each `name` whose
 * `<name>_FILE` (a mounted file) or `<name>_REF` (`file:` or `vault:` reference) is set. Framework-free; the
 * Nest wiring (libs/nest-kit) starts one at module init and stops it on shutdown.
 *
 *   const secrets = await SettingsSecrets.start(config, ['OPENAI_API_KEY']);  // throws naming the setting
 *   new OpenAICompatibleProvider({ apiKey: secrets.reader('OPENAI_API_KEY') }); // the current key, each call
 */
export class SettingsSecrets {
  private constructor(
    private readonly registry: Secrets,
    /** name -> the setting it came from (`OPENAI_API_KEY_FILE`), the key it is declared under in `registry`. */
    private readonly settingOf: ReadonlyMap<string, string>,
  ) {}

  /**
   * Declares and fetches every configured secret of `names`. A bad reference, a `vault:` one without
   * VAULT_ADDR, or a secret that cannot be read throws, naming the setting (`OPENAI_API_KEY_FILE`) and
   * the source; never a value.
   */
  static async start(settings: object, names: readonly string[], options: SettingsSecretsOptions = {}): Promise<SettingsSecrets> {
    const env = settingStrings(settings);
    const refs = new Map<string, { setting: string; ref: NonNullable<ReturnType<typeof secretRefFromSettings>> }>();
    for (const name of names) {
      const ref = secretRefFromSettings(env, name);
      if (ref) refs.set(name, { setting: env[`${name}_FILE`] ? `${name}_FILE` : `${name}_REF`, ref });
    }
    const sources: SecretSource[] = [new FileSecretSource({ ...(options.onWarning ? { onWarning: options.onWarning } : {}) })];
    const vaultUsers = [...refs.values()].filter((r) => r.ref.scheme === 'vault').map((r) => r.setting);
    if (vaultUsers.length) sources.push(vaultSource(env, vaultUsers, options));
    const registry = new Secrets({
      sources,
      ...(options.refreshIntervalMs !== undefined ? { refreshIntervalMs: options.refreshIntervalMs } : {}),
      onError: (_setting, error) => options.onError?.(error.message),
    });
    for (const { setting, ref } of refs.values()) registry.declare(setting, ref);
    await registry.start();
    return new SettingsSecrets(registry, new Map([...refs].map(([name, { setting }]) => [name, setting])));
  }

  /** Whether `<name>_FILE` or `<name>_REF` was set. */
  has(name: string): boolean {
    return this.settingOf.has(name);
  }

  /** The current value; throws if `name` was not configured. */
  get(name: string): Secret {
    return this.registry.get(this.setting(name));
  }

  /**
   * A function returning the current value, for clients that take a key function and call it per request
   * (the model providers, the object store): a rotated secret is used by the next request. Undefined when
   * `name` is not configured.
   */
  reader(name: string): (() => string) | undefined {
    if (!this.has(name)) return undefined;
    return () => this.get(name).reveal();
  }

  /** Calls `listener` with the new value when `name` rotates; returns an unsubscribe function. */
  onChange(name: string, listener: (secret: Secret) => void): () => void {
    return this.registry.onChange(this.setting(name), (secret) => listener(secret));
  }

  /** Re-reads every secret now (tests; an operator's "rotate now"). */
  async refreshAll(): Promise<void> {
    await Promise.all([...this.settingOf.values()].map((setting) => this.registry.refresh(setting)));
  }

  async stop(): Promise<void> {
    await this.registry.stop();
  }

  private setting(name: string): string {
    const setting = this.settingOf.get(name);
    if (!setting) throw new Error(`${name} is not configured: set ${name}_FILE or ${name}_REF`);
    return setting;
  }
}

function vaultSource(env: Record<string, string | undefined>, users: string[], options: SettingsSecretsOptions): VaultSecretSource {
  const address = env['VAULT_ADDR'];
  const tokenFile = env['VAULT_TOKEN_FILE'];
  const role = env['VAULT_KUBERNETES_ROLE'];
  const who = users.join(', ');
  if (!address) throw new SecretError('bad-ref', `${who} names a vault: reference: set VAULT_ADDR (and VAULT_TOKEN_FILE or VAULT_KUBERNETES_ROLE)`);
  if (!tokenFile && !role) throw new SecretError('bad-ref', `${who} names a vault: reference: set VAULT_TOKEN_FILE or VAULT_KUBERNETES_ROLE`);
  if (tokenFile && role) throw new SecretError('bad-ref', 'set VAULT_TOKEN_FILE or VAULT_KUBERNETES_ROLE, not both');
  return new VaultSecretSource({
    address,
    auth: tokenFile ? { tokenFile } : { kubernetes: { role: role! } },
    ...(env['VAULT_NAMESPACE'] ? { namespace: env['VAULT_NAMESPACE'] } : {}),
    onError: (error) => (options.onWarning ?? options.onError)?.(error.message),
  });
}

/** The string-valued settings of a loaded config (the only ones a reference or Vault setting can be). */
function settingStrings(settings: object): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(settings)) if (typeof value === 'string' && value !== '') out[name] = value;
  return out;
}
