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

/**
 * Object storage as the loaded settings describe it (objectStoreSettings of @keelson/config), or undefined when
 * OBJECT_STORE_URL is unset. The key files are read before each request, so rotating them needs no restart.
 */
export function objectStorageFromSettings(settings: ObjectStoreSettings): ObjectStorage | undefined {
  const url = settings.OBJECT_STORE_URL;
  if (!url) return undefined;
  const accessFile = settings.OBJECT_STORE_ACCESS_KEY_FILE;
  const secretFile = settings.OBJECT_STORE_SECRET_KEY_FILE;
  if (!accessFile || !secretFile) {
    throw new Error('OBJECT_STORE_URL is set: OBJECT_STORE_ACCESS_KEY_FILE and OBJECT_STORE_SECRET_KEY_FILE are required');
  }
  const accessKey = secretFromFile(accessFile);
  const secretKey = secretFromFile(secretFile);
  const store = new MinioObjectStore({
    url,
    credentials: async () => ({ accessKey: await accessKey(), secretKey: await secretKey() }),
  });
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
