import { secretFromFile, type ObjectStoreSettings } from '@keelson/config';
import { Archiver } from './archive';
import { MinioObjectStore } from './minio-object-store';
import { PayloadOffloader } from './payload-offloader';
import { ResidencyPolicy } from './residency';

export interface ObjectStorage {
  store: MinioObjectStore;
  residency: ResidencyPolicy;
  account: string;
  offloader: PayloadOffloader;
  archiver: Archiver;
}

/** The secrets the object store takes, each given as `<NAME>_FILE` or `<NAME>_REF` (docs/secrets.md). */
export const OBJECT_STORE_SECRETS = ['OBJECT_STORE_ACCESS_KEY', 'OBJECT_STORE_SECRET_KEY'] as const;

/**
 * The keys from the secrets layer: @keelson/secrets' SettingsSecrets started with OBJECT_STORE_SECRETS
 * (fetched at start, refreshed when they rotate). `reader(name)` returns the current value on each call.
 */
export interface ObjectStoreKeys {
  reader(name: string): (() => string) | undefined;
}

/**
 * Object storage as the loaded settings describe it (objectStoreSettings of @keelson/config), or undefined when
 * OBJECT_STORE_URL is unset. The keys are read before each request, so rotating them needs no restart:
 * from `keys` (the secrets layer: files or Vault, fetched at start) when given, else from the
 * `OBJECT_STORE_*_KEY_FILE` files themselves (re-read when they change); `_REF` settings need `keys`.
 */
export function objectStorageFromSettings(settings: ObjectStoreSettings, keys?: ObjectStoreKeys): ObjectStorage | undefined {
  const url = settings.OBJECT_STORE_URL;
  if (!url) return undefined;
  const store = new MinioObjectStore({ url, credentials: credentialsFrom(settings, keys) });
  const residency = new ResidencyPolicy(settings.DATA_RESIDENCY);
  const account = settings.OBJECT_STORE_ACCOUNT;
  return {
    store,
    residency,
    account,
    offloader: new PayloadOffloader({ store, residency, account, thresholdBytes: settings.AUDIT_OFFLOAD_THRESHOLD_BYTES }),
    archiver: new Archiver({ store, residency, account }),
  };
}

function credentialsFrom(settings: ObjectStoreSettings, keys: ObjectStoreKeys | undefined): () => Promise<{ accessKey: string; secretKey: string }> {
  if (keys) {
    const accessKey = keys.reader('OBJECT_STORE_ACCESS_KEY');
    const secretKey = keys.reader('OBJECT_STORE_SECRET_KEY');
    if (!accessKey || !secretKey) {
      throw new Error('OBJECT_STORE_URL is set: OBJECT_STORE_ACCESS_KEY_FILE (or _REF) and OBJECT_STORE_SECRET_KEY_FILE (or _REF) are required');
    }
    return async () => ({ accessKey: accessKey(), secretKey: secretKey() });
  }
  const refs = (['OBJECT_STORE_ACCESS_KEY_REF', 'OBJECT_STORE_SECRET_KEY_REF'] as const).filter((name) => settings[name]);
  if (refs.length) throw new Error(`${refs.join(' and ')}: a secret reference needs the secrets layer (pass the started keys to objectStorageFromSettings)`);
  const accessFile = settings.OBJECT_STORE_ACCESS_KEY_FILE;
  const secretFile = settings.OBJECT_STORE_SECRET_KEY_FILE;
  if (!accessFile || !secretFile) {
    throw new Error('OBJECT_STORE_URL is set: OBJECT_STORE_ACCESS_KEY_FILE and OBJECT_STORE_SECRET_KEY_FILE are required');
  }
  const accessKey = secretFromFile(accessFile);
  const secretKey = secretFromFile(secretFile);
  return async () => ({ accessKey: await accessKey(), secretKey: await secretKey() });
}
