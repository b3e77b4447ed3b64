import { z } from 'zod';
import { integer, jsonSetting } from './fields';
import { secretRefSetting, secretsLayerSettings } from './secret-file';

const httpUrl = z.string().refine((value) => {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}, 'expected an http:// or https:// URL');

// The same patterns as @keelson/object-store (REGION_PATTERN, ACCOUNT_PATTERN) and @keelson/contracts
// (TENANT_ID_PATTERN); repeated here so config stays free of both. ResidencyPolicy checks again when built.
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const ACCOUNT = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const TENANT = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const residencyShape = z
  .object({
    default: z.string().regex(REGION, 'expected a region such as eu-west-1'),
    tenants: z.record(z.string().regex(TENANT, 'expected a tenant id'), z.string().regex(REGION, 'expected a region such as eu-west-1')).default({}),
  })
  .strict();
export type DataResidency = z.infer<typeof residencyShape>;

/** DATA_RESIDENCY: JSON text `{"default":"eu-west-1","tenants":{"acme":"us-east-1"}}`, parsed and checked. */
const dataResidency = jsonSetting(residencyShape, '{"default":"eu-west-1","tenants":{"acme":"us-east-1"}}')
  .default({ default: 'us-east-1', tenants: {} });

const noSecretInEnv = (name: string) => z.undefined({ error: `secrets are read from files: set ${name}_FILE instead` }).optional();

/**
 * Object storage for audit payloads and archives (docs/audit.md); spread into a service's schema and add
 * `.superRefine(requireObjectStoreKeys)`. OBJECT_STORE_URL unset means no object storage.
 */
export const objectStoreSettings = {
  /** Any S3-compatible endpoint: AWS S3, MinIO, or the local s3rver of tools/s3-server. */
  OBJECT_STORE_URL: httpUrl.optional(),
  /** The keys through the secrets layer: mounted files, or `_REF` references (`file:`, `vault:`); re-read when they rotate. */
  OBJECT_STORE_ACCESS_KEY_FILE: z.string().min(1).optional(),
  OBJECT_STORE_SECRET_KEY_FILE: z.string().min(1).optional(),
  OBJECT_STORE_ACCESS_KEY_REF: secretRefSetting(),
  OBJECT_STORE_SECRET_KEY_REF: secretRefSetting(),
  ...secretsLayerSettings,
  OBJECT_STORE_ACCESS_KEY: noSecretInEnv('OBJECT_STORE_ACCESS_KEY'),
  OBJECT_STORE_SECRET_KEY: noSecretInEnv('OBJECT_STORE_SECRET_KEY'),
  /** First part of every bucket name: `{account}-{region}-keelson-{purpose}`. */
  OBJECT_STORE_ACCOUNT: z.string().regex(ACCOUNT, 'expected lowercase letters and digits in hyphen-separated words, such as acme-prod').default('local'),
  /** Which region holds each tenant's objects. */
  DATA_RESIDENCY: dataResidency,
  /** Audit payloads above this many UTF-8 bytes are offloaded to object storage and referenced. */
  AUDIT_OFFLOAD_THRESHOLD_BYTES: integer(8_192, 0, 16 * 1024 * 1024),
};

export interface ObjectStoreSettings {
  OBJECT_STORE_URL?: string | undefined;
  OBJECT_STORE_ACCESS_KEY_FILE?: string | undefined;
  OBJECT_STORE_SECRET_KEY_FILE?: string | undefined;
  OBJECT_STORE_ACCESS_KEY_REF?: string | undefined;
  OBJECT_STORE_SECRET_KEY_REF?: string | undefined;
  VAULT_ADDR?: string | undefined;
  VAULT_TOKEN_FILE?: string | undefined;
  VAULT_KUBERNETES_ROLE?: string | undefined;
  VAULT_NAMESPACE?: string | undefined;
  OBJECT_STORE_ACCOUNT: string;
  DATA_RESIDENCY: DataResidency;
  AUDIT_OFFLOAD_THRESHOLD_BYTES: number;
}

/**
 * With OBJECT_STORE_URL set, both keys are required (each as `_FILE` or `_REF`); reported against the
 * missing `_FILE` variable.
 */
export function requireObjectStoreKeys(settings: Partial<ObjectStoreSettings>, ctx: z.RefinementCtx): void {
  if (!settings.OBJECT_STORE_URL) return;
  for (const name of ['OBJECT_STORE_ACCESS_KEY', 'OBJECT_STORE_SECRET_KEY'] as const) {
    if (!settings[`${name}_FILE`] && !settings[`${name}_REF`]) {
      ctx.addIssue({ code: 'custom', path: [`${name}_FILE`], message: `required when OBJECT_STORE_URL is set (or ${name}_REF)` });
    }
  }
}
