import { readFile } from 'node:fs/promises';
import type NodeVault from 'node-vault';
import { SecretError, asSecretError } from '../errors';
import { Secret } from '../secret';
import type { SecretRef } from '../secret-ref';
import type { SecretSource, SecretValue } from '../secret-source';

export type VaultAuth =
  /** A token in a file (a Vault Agent sink, a mounted secret); never the VAULT_TOKEN variable. */
  | { tokenFile: string }
  /** Kubernetes auth: log in with the pod's service account token for `role`. */
  | { kubernetes: { role: string; jwtFile?: string; mount?: string } };

export interface VaultSecretSourceOptions {
  /** VAULT_ADDR, e.g. https://vault.internal:8200. */
  address: string;
  auth: VaultAuth;
  /** Vault Enterprise / HCP namespace. */
  namespace?: string;
  /** Per request; default 10 s. */
  requestTimeoutMs?: number;
  /** Renew the token at this share of its TTL; default 2/3. */
  renewAt?: number;
  /** After a failed renewal, try again this often while the token lives; default 5 s. */
  retryRenewalMs?: number;
  /** Renewal failures and expiry; the message holds no token. */
  onError?: (error: SecretError) => void;
}

export interface VaultSourceStatus {
  state: 'idle' | 'ok' | 'renewal-failed' | 'expired' | 'stopped';
  /** Why it is not ok (no secret in it). */
  reason?: string;
  /** When the token expires (ms since epoch); undefined for a token without TTL. */
  tokenExpiresAt?: number;
}

interface ApiError {
  response?: { statusCode?: number };
  code?: unknown;
}

/**
 * Secrets from HashiCorp Vault's KV v2 engine through node-vault: `read('<mount>/data/<path>')`, the
 * reference's field of `data.data`, the version from `data.metadata.version`. The token comes from a file or
 * from a Kubernetes login; `auth/token/lookup-self` gives its TTL and it is renewed
 * (`auth/token/renew-self`) at 2/3 of it, or re-obtained (a fresh login, a re-read token file) when it is not
 * renewable. A failed renewal puts the source into `renewal-failed` (see status()), reports to onError and
 * retries until the token expires; reads then fail with `auth` errors. Rotation is seen by re-reading: the
 * registry re-reads on its interval and compares values (and KV versions).
 *
 * Errors never carry node-vault's or axios's error object: those hold the request headers, X-Vault-Token
 * among them. Messages name the Vault path and the HTTP status or errno only.
 */
export class VaultSecretSource implements SecretSource {
  readonly name: string;
  readonly scheme = 'vault' as const;
  private readonly client: NodeVault.client;
  private ready?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private current: VaultSourceStatus = { state: 'idle' };

  constructor(private readonly options: VaultSecretSourceOptions) {
    const address = options.address.replace(/\/+$/, '');
    this.name = `vault at ${safeAddress(address)}`;
    // Loaded here, not at import: every service imports this lib, few talk to Vault (50-90 ms of start-up).
    const nodeVault = require('node-vault') as typeof NodeVault;
    this.client = nodeVault({
      endpoint: address,
      apiVersion: 'v1',
      ...(options.namespace ? { namespace: options.namespace } : {}),
      // node-vault's debug logging prints request bodies (a login's JWT): keep it silent.
      debug: () => undefined,
      requestOptions: { timeout: options.requestTimeoutMs ?? 10_000 },
    });
    // node-vault falls back to the VAULT_TOKEN variable; this source only takes a token from its auth.
    this.client.token = '';
    (this.client as unknown as { pathPrefix: string }).pathPrefix = '';
  }

  /** Authenticates and schedules renewal; get() calls it on first use. Throws a SecretError of kind `auth`. */
  start(): Promise<void> {
    this.ready ??= this.authenticate().catch((err) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  status(): VaultSourceStatus {
    return { ...this.current };
  }

  async get(ref: SecretRef): Promise<SecretValue> {
    if (ref.scheme !== 'vault') throw new SecretError('bad-ref', `the vault source cannot read a ${ref.scheme} reference`);
    await this.start();
    if (this.current.state === 'expired') throw new SecretError('auth', `the Vault token has expired: ${this.current.reason}`);
    if (this.current.state === 'stopped') throw new SecretError('unavailable', `${this.name} is stopped`);
    const apiPath = `${ref.mount}/data/${ref.path}`;
    let body: { data?: { data?: Record<string, unknown> | null; metadata?: { version?: number } }; lease_duration?: number };
    try {
      body = await this.client.read(apiPath);
    } catch (err) {
      throw this.apiError(err, `vault:${apiPath}`);
    }
    const data = body?.data?.data;
    if (!data || typeof data !== 'object') throw new SecretError('not-found', `vault:${apiPath} has no current data (deleted or destroyed version)`);
    if (!Object.prototype.hasOwnProperty.call(data, ref.field)) {
      throw new SecretError('not-found', `vault:${apiPath} has no field "${ref.field}" (fields: ${Object.keys(data).join(', ') || 'none'})`);
    }
    const value = data[ref.field];
    if (typeof value !== 'string') throw new SecretError('unreadable', `vault:${apiPath} field "${ref.field}" is not a string`);
    if (!value) throw new SecretError('empty', `vault:${apiPath} field "${ref.field}" is empty`);
    const version = String(body.data?.metadata?.version ?? 'unversioned');
    const lease = body.lease_duration ?? 0;
    return { secret: new Secret(value), version, ...(lease > 0 ? { refreshAfterMs: lease * 1000 } : {}) };
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.current = { state: 'stopped' };
  }

  private async authenticate(): Promise<void> {
    const { ttl, renewable } = await this.obtainToken();
    this.onToken(ttl, renewable);
  }

  /** Reads the token file or logs in, then asks Vault for the token's TTL; sets the client's token. */
  private async obtainToken(): Promise<{ ttl: number; renewable: boolean }> {
    const auth = this.options.auth;
    if ('tokenFile' in auth) {
      this.client.token = await readCredentialFile(auth.tokenFile, 'Vault token');
    } else {
      const jwtFile = auth.kubernetes.jwtFile ?? '/var/run/secrets/kubernetes.io/serviceaccount/token';
      const jwt = await readCredentialFile(jwtFile, 'service account token');
      try {
        // node-vault keeps the returned auth.client_token as its token. mount_point is always given:
        // node-vault 0.12 renders its `kubernetesPath` default into the URL as empty (POST /v1/auth//login).
        await this.client.kubernetesLogin({ role: auth.kubernetes.role, jwt, mount_point: auth.kubernetes.mount ?? 'kubernetes' });
      } catch (err) {
        throw this.apiError(err, `Kubernetes login (role ${auth.kubernetes.role})`, 'auth');
      }
    }
    let lookup: { data?: { ttl?: number; renewable?: boolean } };
    try {
      lookup = await this.client.tokenLookupSelf();
    } catch (err) {
      throw this.apiError(err, 'token lookup (auth/token/lookup-self)', 'auth');
    }
    return { ttl: lookup.data?.ttl ?? 0, renewable: lookup.data?.renewable ?? false };
  }

  /** A token with `ttl` seconds left: schedule its renewal (or replacement) at renewAt of it. */
  private onToken(ttl: number, renewable: boolean): void {
    this.current = { state: 'ok', ...(ttl > 0 ? { tokenExpiresAt: Date.now() + ttl * 1000 } : {}) };
    if (ttl <= 0) return; // a token without TTL (root, periodic without period set) never expires
    this.later(ttl * 1000 * (this.options.renewAt ?? 2 / 3), () => this.renew(renewable));
  }

  private async renew(renewable: boolean): Promise<void> {
    let failure: SecretError | undefined;
    if (renewable) {
      try {
        const result: { auth?: { lease_duration?: number; renewable?: boolean } } = await this.client.tokenRenewSelf();
        const ttl = result.auth?.lease_duration ?? 0;
        if (ttl > 0) return this.onToken(ttl, result.auth?.renewable !== false);
      } catch (err) {
        failure = this.apiError(err, 'token renewal (auth/token/renew-self)', 'auth');
      }
    }
    // Not renewable, renewed to no TTL (max_ttl reached) or renewal refused: a new token as at start, from
    // a fresh Kubernetes login or a token file the platform has rewritten. The same token again is no fix.
    const before = this.client.token;
    try {
      const next = await this.obtainToken();
      if ('tokenFile' in this.options.auth && this.client.token === before) {
        throw failure ?? new SecretError('auth', `the Vault token is not renewable and ${this.options.auth.tokenFile} still holds the same one`);
      }
      this.onToken(next.ttl, next.renewable);
    } catch (err) {
      const again = asSecretError(err, (code) => new SecretError('auth', `re-authentication failed: ${code}`));
      this.renewalFailed(failure && again !== failure ? new SecretError('auth', `${failure.message}; then ${again.message}`) : again, renewable);
    }
  }

  private renewalFailed(error: SecretError, renewable: boolean): void {
    if (this.current.state === 'stopped') return;
    const expiresAt = this.current.tokenExpiresAt;
    const expired = expiresAt !== undefined && Date.now() >= expiresAt;
    this.current = { state: expired ? 'expired' : 'renewal-failed', reason: error.message, ...(expiresAt !== undefined ? { tokenExpiresAt: expiresAt } : {}) };
    this.options.onError?.(new SecretError('auth', expired ? `the Vault token has expired: ${error.message}` : error.message));
    const retry = this.options.retryRenewalMs ?? 5_000;
    if (!expired) this.later(expiresAt === undefined ? retry : Math.min(retry, Math.max(10, expiresAt - Date.now())), () => this.renew(renewable));
    // Expired: only a new start() (a fresh token file or login) helps; reads say why they fail.
    else this.ready = undefined;
  }

  private later(ms: number, fn: () => Promise<void>): void {
    clearTimeout(this.timer);
    if (this.current.state === 'stopped') return;
    this.timer = setTimeout(() => void fn(), Math.max(10, Math.floor(ms)));
    this.timer.unref();
  }

  private apiError(err: unknown, what: string, kind403: 'denied' | 'auth' = 'denied'): SecretError {
    if (err instanceof SecretError) return err;
    const status = (err as ApiError)?.response?.statusCode;
    if (status === 403) return new SecretError(kind403, `${this.name} refused ${what}: 403 permission denied`);
    if (status === 404) return new SecretError('not-found', `${this.name} has no ${what}: 404 not found`);
    if (typeof status === 'number') return new SecretError(status >= 500 ? 'unavailable' : 'denied', `${this.name} answered ${what} with HTTP ${status}`);
    return asSecretError(err, (code) => new SecretError('unavailable', `${this.name} is unreachable for ${what}: ${code}`));
  }
}

async function readCredentialFile(path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw asSecretError(err, (code) => new SecretError('auth', `cannot read the ${what} file ${path}: ${code}`));
  }
  const value = text.trim();
  if (!value) throw new SecretError('auth', `the ${what} file ${path} is empty`);
  return value;
}

/** The address without any user:password in it. */
function safeAddress(address: string): string {
  try {
    const url = new URL(address);
    url.username = '';
    url.password = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return address.replace(/\/\/[^@/]*@/, '//');
  }
}
