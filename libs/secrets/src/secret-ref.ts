import { isAbsolute, normalize } from 'node:path';
import { SecretError } from './errors';

/**
 * Where a secret lives, written as a URI-like string in a setting:
 *  - `file:/run/secrets/openai_api_key`          a file the platform mounts (absolute path)
 *  - `vault:kv/data/keelson/openai#api_key`        a field of a Vault KV v2 secret: the API path
 *    `<mount>/data/<path>` (the same string a Vault policy names) and `#<field>` of `data.data`
 */
export type SecretRef = FileSecretRef | VaultSecretRef;

export interface FileSecretRef {
  scheme: 'file';
  path: string;
}

export interface VaultSecretRef {
  scheme: 'vault';
  /** The KV v2 mount, e.g. `kv` or `secret` (may contain slashes). */
  mount: string;
  /** The secret's path under the mount, e.g. `keelson/openai`. */
  path: string;
  field: string;
}

const FORMS = 'expected file:/absolute/path or vault:<mount>/data/<path>#<field>';

/**
 * Parses a reference; `setting` names the variable it came from, for the error. The error never quotes the
 * text: a secret pasted into a reference setting by mistake must not end up in a log.
 */
export function parseSecretRef(text: string, setting: string): SecretRef {
  const bad = (why: string): SecretError => new SecretError('bad-ref', `${setting}: not a secret reference: ${why} (${FORMS})`);
  const colon = text.indexOf(':');
  const scheme = colon > 0 ? text.slice(0, colon) : '';
  const rest = text.slice(colon + 1);
  if (scheme === 'file') {
    const path = rest.startsWith('//') ? rest.slice(2) : rest;
    if (!path || !isAbsolute(path)) throw bad('a file reference needs an absolute path');
    if (path.includes('#')) throw bad('a file reference has no #field');
    return { scheme: 'file', path: normalize(path) };
  }
  if (scheme === 'vault') {
    const hash = rest.lastIndexOf('#');
    if (hash < 0) throw bad('a vault reference needs #<field>');
    const field = rest.slice(hash + 1);
    const apiPath = rest.slice(0, hash).replace(/^\/+/, '');
    if (!field || /[\s/#]/.test(field)) throw bad('the #field is empty or has a space, / or #');
    const at = apiPath.indexOf('/data/');
    const mount = at > 0 ? apiPath.slice(0, at) : '';
    const path = at > 0 ? apiPath.slice(at + '/data/'.length).replace(/\/+$/, '') : '';
    if (!mount || !path) throw bad('a vault reference names the KV v2 API path <mount>/data/<path>');
    if (/\s|\.\.|\/\//.test(apiPath) || /[?%]/.test(apiPath)) throw bad('the vault path has a space, "..", "//", ? or %');
    return { scheme: 'vault', mount, path, field };
  }
  if (/^[a-z][a-z0-9+.-]{0,15}$/.test(scheme)) throw bad(`unknown scheme "${scheme}:"`);
  throw bad('no scheme');
}

/** The reference as written, for messages (it holds no secret). */
export function formatSecretRef(ref: SecretRef): string {
  return ref.scheme === 'file' ? `file:${ref.path}` : `vault:${ref.mount}/data/${ref.path}#${ref.field}`;
}
