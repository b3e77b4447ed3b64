import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The environment a replacement replica needs besides the mesh's: memory- and audit-service replicas each get
 * their own fresh data directory, as startMesh gives its extra ones (two processes never share one store).
 */
export function replicaDataDirs(service: string): Record<string, string> {
  if (service === 'memory-service') return { MEMORY_DATA_DIR: mkdtempSync(join(tmpdir(), 'keelson-e2e-memory-')) };
  if (service === 'audit-service') return { AUDIT_DATA_DIR: mkdtempSync(join(tmpdir(), 'keelson-e2e-audit-')) };
  return {};
}
