import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** `<NAME>_SECRET_ID`: a Secrets Manager secret (name or ARN), optionally `#field` of a JSON secret. */
const SECRET_ID = /^([A-Z][A-Z0-9_]*)_SECRET_ID$/;

export interface AwsSecretsOptions {
  /** Where the values are written, one 0600 file each; Lambda's only writable place is /tmp. */
  dir?: string;
  /** The AWS Parameters and Secrets Lambda Extension's local endpoint. */
  endpoint?: string;
  fetch?: typeof fetch;
}

/**
 * Lambda mounts no secret files, and the settings take secrets only as files (`*_FILE`) or Vault references
 * (docs/secrets.md). So at cold start each `<NAME>_SECRET_ID` (OPENAI_API_KEY_SECRET_ID,
 * KEELSON_API_KEYS_SECRET_ID, ...) is read from Secrets Manager through the AWS Parameters and Secrets Lambda
 * Extension (a layer: a local HTTP endpoint that caches, authenticated by the function's own session token;
 * no AWS SDK in the package), written to /tmp/keelson-secrets/<NAME> and given to the settings as
 * `<NAME>_FILE`. Returns those settings. The value is read once per container: a rotated secret reaches new
 * containers (docs/serverless.md, "Secrets").
 */
export async function awsSecretFiles(env: Record<string, string | undefined>, options: AwsSecretsOptions = {}): Promise<Record<string, string>> {
  const wanted = Object.entries(env).flatMap(([key, id]) => {
    const name = SECRET_ID.exec(key)?.[1];
    return name && id ? [{ name, id }] : [];
  });
  if (wanted.length === 0) return {};
  const endpoint = options.endpoint ?? `http://localhost:${env['PARAMETERS_SECRETS_EXTENSION_HTTP_PORT'] ?? '2773'}`;
  const token = env['AWS_SESSION_TOKEN'];
  if (!token) throw new Error(`${wanted[0]!.name}_SECRET_ID is set but AWS_SESSION_TOKEN is not: secrets are read through the Lambda extension, inside Lambda only`);
  const dir = options.dir ?? '/tmp/keelson-secrets';
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const doFetch = options.fetch ?? fetch;
  const files: Record<string, string> = {};
  for (const { name, id } of wanted) {
    if (env[`${name}_FILE`] || env[`${name}_REF`]) throw new Error(`${name}_SECRET_ID and ${name}_FILE/_REF are both set: choose one`);
    const [secretId, field] = id.split('#') as [string, string | undefined];
    const response = await doFetch(`${endpoint}/secretsmanager/get?secretId=${encodeURIComponent(secretId)}`, {
      headers: { 'X-Aws-Parameters-Secrets-Token': token },
    });
    if (!response.ok) throw new Error(`${name}_SECRET_ID: the secrets extension answered ${response.status} for ${secretId}`);
    const { SecretString } = (await response.json()) as { SecretString?: string };
    if (SecretString === undefined) throw new Error(`${name}_SECRET_ID: ${secretId} has no SecretString (binary secrets are not read)`);
    let value = SecretString;
    if (field !== undefined) {
      const parsed = JSON.parse(SecretString) as Record<string, unknown>;
      if (typeof parsed[field] !== 'string') throw new Error(`${name}_SECRET_ID: ${secretId} has no string field "${field}"`);
      value = parsed[field];
    }
    const file = join(dir, name);
    writeFileSync(file, value, { mode: 0o600 });
    files[`${name}_FILE`] = file;
  }
  return files;
}
