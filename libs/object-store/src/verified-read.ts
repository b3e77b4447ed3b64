import { createHash } from 'node:crypto';
import type { AuditRef } from '@keelson/contracts';
import { ObjectIntegrityError } from './errors';
import type { ObjectStore } from './object-store';

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The referenced object's bytes, after checking they still hash to `ref.sha256` (ObjectIntegrityError if not). */
export async function readVerified(store: ObjectStore, ref: AuditRef): Promise<Buffer> {
  const bytes = await store.getObject(ref.bucket, ref.key);
  const actual = sha256Hex(bytes);
  if (actual !== ref.sha256) throw new ObjectIntegrityError(ref.bucket, ref.key, ref.sha256, actual);
  return bytes;
}
