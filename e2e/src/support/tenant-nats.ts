import { connectNats } from '@keelson/messaging';
import type { NatsConnection } from 'nats';
import type { Mesh } from './mesh';

const VIOLATION = 'nats permissions violation: ';

/**
 * A tenant's own NATS connection, as an external publisher would open it, and the list of what the server
 * refused it (connectNats logs each refusal at error level; the connection stays open).
 */
export async function tenantNats(mesh: Mesh, tenant: string, name: string): Promise<{ nc: NatsConnection; refused: string[] }> {
  const refused: string[] = [];
  const logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (msg: string) => {
      if (msg.startsWith(VIOLATION)) refused.push(msg.slice(VIOLATION.length));
    },
  };
  const nc = await connectNats({ url: mesh.nats.url, name, logger, credentials: mesh.natsCredentials[tenant]! });
  return { nc, refused };
}
