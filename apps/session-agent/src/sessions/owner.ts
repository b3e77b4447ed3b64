import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * This process as a lease owner: host and pid say where it runs, the random part keeps a restarted
 * process (same host, recycled pid) from mistaking its predecessor's lease for its own.
 */
export function processOwnerId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
}
