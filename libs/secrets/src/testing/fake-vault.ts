import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A PROTOCOL-FAITHFUL FAKE of HashiCorp Vault's HTTP API, the subset node-vault calls for the secrets
 * layer, for tests on machines where Vault cannot run. It speaks Vault's wire format:
 *  - KV v2: GET /v1/<mount>/data/<path>[?version=n] answers
 *    `{ data: { data: {...}, metadata: { version, created_time, deletion_time, destroyed, custom_metadata } },
 *    lease_duration: 0, ... }`; POST|PUT the same path with `{ data: {...} }` writes a new version and answers
 *    its metadata; DELETE soft-deletes the latest version (a later read answers 404 with `data: null`).
 *  - GET /v1/auth/token/lookup-self (`data.ttl`, `data.renewable`, `data.policies`), POST|PUT
 *    /v1/auth/token/renew-self (`auth.lease_duration`, `auth.renewable`), POST /v1/auth/kubernetes/login
 *    (`{ role, jwt }` -> `auth.client_token`).
 *  - The X-Vault-Token header on every call: missing, unknown or expired -> 403 `{"errors":["permission
 *    denied"]}`; a path outside the token's policy -> 403 with Vault's multi-error text; a missing secret ->
 *    404 `{"errors":[]}`; an unmounted path -> 404 "no handler for route".
 * What it is NOT: Vault. Policies are a list of path globs (trailing `*`), there is no sealing, no leases on
 * KV, no namespaces (the header is ignored), no metadata endpoints.
 */
export interface FakeVault {
  url: string;
  /** A token with every path and no TTL, like a dev server's root token. */
  rootToken: string;
  /** Every request as `METHOD /v1/path`, for assertions on what the client sent. */
  requests: string[];
  /** Issues a token; `paths` are API-path globs it may use (default all). */
  createToken(options?: { ttl?: number; renewable?: boolean; paths?: string[] }): string;
  /** Writes a new KV v2 version; returns the version number. */
  put(mount: string, path: string, data: Record<string, unknown>): number;
  /** Soft-deletes the latest version, as `vault kv delete` does. */
  softDelete(mount: string, path: string): void;
  /** From now on renew-self answers this status (403 or 500...), or works again with `false`. */
  failRenewals(status: number | false): void;
  /** Accepts Kubernetes logins with `jwt` for `role`, issuing tokens as createToken does. */
  addKubernetesRole(role: string, jwt: string, options?: { ttl?: number; renewable?: boolean; paths?: string[] }): void;
  close(): Promise<void>;
}

interface Token {
  ttl: number;
  renewable: boolean;
  paths: string[];
  expiresAt?: number;
}

interface Version {
  data: Record<string, unknown>;
  created: string;
  deleted?: string;
}

export async function startFakeVault(options: { mounts?: string[] } = {}): Promise<FakeVault> {
  const mounts = new Set(options.mounts ?? ['secret', 'kv']);
  const tokens = new Map<string, Token>();
  const store = new Map<string, Version[]>();
  const roles = new Map<string, { jwt: string; ttl: number; renewable: boolean; paths: string[] }>();
  const requests: string[] = [];
  let renewFailure: number | false = false;

  const issue = (o: { ttl?: number; renewable?: boolean; paths?: string[] } = {}): string => {
    const token = `hvs.${randomBytes(18).toString('base64url')}`;
    const ttl = o.ttl ?? 0;
    tokens.set(token, { ttl, renewable: o.renewable ?? ttl > 0, paths: o.paths ?? ['*'], ...(ttl > 0 ? { expiresAt: Date.now() + ttl * 1000 } : {}) });
    return token;
  };
  const rootToken = issue();
  const allowed = (t: Token, path: string): boolean => t.paths.some((p) => (p.endsWith('*') ? path.startsWith(p.slice(0, -1)) : p === path));
  const metadata = (versions: Version[], n: number) => ({
    created_time: versions[n - 1]!.created,
    custom_metadata: null,
    deletion_time: versions[n - 1]!.deleted ?? '',
    destroyed: false,
    version: n,
  });
  const envelope = (fields: Record<string, unknown>) => ({
    request_id: randomBytes(8).toString('hex'),
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data: null,
    wrap_info: null,
    warnings: null,
    auth: null,
    ...fields,
  });
  const authBody = (token: string, t: Token) =>
    envelope({ auth: { client_token: token, accessor: randomBytes(8).toString('hex'), policies: ['default'], lease_duration: t.ttl, renewable: t.renewable } });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://vault');
    const method = req.method ?? 'GET';
    requests.push(`${method} ${url.pathname}`);
    const send = (status: number, body?: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: Record<string, unknown> = {};
    try {
      if (chunks.length) body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return send(400, { errors: ['failed to parse JSON input'] });
    }
    if (!url.pathname.startsWith('/v1/')) return send(404, { errors: [] });
    const path = url.pathname.slice('/v1/'.length);
    const write = method === 'POST' || method === 'PUT';

    if (path === 'auth/kubernetes/login' && write) {
      const role = roles.get(String(body['role']));
      if (!role) return send(400, { errors: [`invalid role name "${String(body['role'])}"`] });
      if (body['jwt'] !== role.jwt) return send(403, { errors: ['permission denied'] });
      const token = issue(role);
      return send(200, authBody(token, tokens.get(token)!));
    }

    const tokenText = req.headers['x-vault-token'];
    const token = typeof tokenText === 'string' ? tokens.get(tokenText) : undefined;
    if (!token || (token.expiresAt !== undefined && Date.now() >= token.expiresAt)) return send(403, { errors: ['permission denied'] });

    if (path === 'auth/token/lookup-self' && method === 'GET') {
      const ttl = token.expiresAt === undefined ? 0 : Math.max(0, Math.round((token.expiresAt - Date.now()) / 1000));
      return send(200, envelope({ data: { id: tokenText, ttl, creation_ttl: token.ttl, renewable: token.renewable, policies: ['default'], expire_time: token.expiresAt ? new Date(token.expiresAt).toISOString() : null } }));
    }
    if (path === 'auth/token/renew-self' && write) {
      if (renewFailure) return send(renewFailure, { errors: [renewFailure === 403 ? 'permission denied' : 'internal error'] });
      if (!token.renewable) return send(400, { errors: ['lease is not renewable'] });
      const increment = Number(body['increment']) || token.ttl;
      token.expiresAt = Date.now() + increment * 1000;
      return send(200, authBody(String(tokenText), { ...token, ttl: increment }));
    }

    const at = path.indexOf('/data/');
    const mount = at > 0 ? path.slice(0, at) : '';
    if (!mounts.has(mount)) return send(404, { errors: [`no handler for route "${path}". route entry not found.`] });
    if (!allowed(token, path)) return send(403, { errors: ['1 error occurred:\n\t* permission denied\n\n'] });
    const key = path;
    const versions = store.get(key) ?? [];
    if (method === 'GET') {
      const n = url.searchParams.has('version') ? Number(url.searchParams.get('version')) : versions.length;
      const v = versions[n - 1];
      if (!v) return send(404, { errors: [] });
      if (v.deleted) return send(404, envelope({ data: { data: null, metadata: metadata(versions, n) } }));
      return send(200, envelope({ data: { data: v.data, metadata: metadata(versions, n) } }));
    }
    if (write) {
      const data = body['data'];
      if (!data || typeof data !== 'object') return send(400, { errors: ['no data provided'] });
      versions.push({ data: data as Record<string, unknown>, created: new Date().toISOString() });
      store.set(key, versions);
      return send(200, envelope({ data: metadata(versions, versions.length) }));
    }
    if (method === 'DELETE') {
      const v = versions[versions.length - 1];
      if (v) v.deleted = new Date().toISOString();
      return send(204);
    }
    return send(405, { errors: [] });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: ['internal error'] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    rootToken,
    requests,
    createToken: issue,
    put(mount, path, data) {
      const key = `${mount}/data/${path}`;
      const versions = store.get(key) ?? [];
      versions.push({ data, created: new Date().toISOString() });
      store.set(key, versions);
      return versions.length;
    },
    softDelete(mount, path) {
      const versions = store.get(`${mount}/data/${path}`);
      const v = versions?.[versions.length - 1];
      if (v) v.deleted = new Date().toISOString();
    },
    failRenewals(status) {
      renewFailure = status;
    },
    addKubernetesRole(role, jwt, o = {}) {
      const ttl = o.ttl ?? 3600;
      roles.set(role, { jwt, ttl, renewable: o.renewable ?? true, paths: o.paths ?? ['*'] });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
