// Follows the task results of tenant `dev` as they are published (core NATS: a tenant's credentials may
// subscribe to keelson.results.dev.> and nothing else). Ctrl-C to stop. A result published while this was not
// running is not replayed here: read it with GET /v1/tasks/{taskId} (docs/operations.md, "External publishers").
// Usage: node docs/examples/subscribe-results.mjs      (NATS_URL and NATS_NKEY_SEED_FILE as in publish-task.mjs)
import { readFileSync } from 'node:fs';
import { connect, JSONCodec, nkeyAuthenticator } from 'nats';

const seed = readFileSync(process.env.NATS_NKEY_SEED_FILE ?? '.keelson/nats-auth/tenant-dev.nk', 'utf8').trim();
const nc = await connect({
  servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4223',
  authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)),
  inboxPrefix: '_INBOX.tenant.dev',
});
for await (const m of nc.subscribe('keelson.results.dev.>')) {
  const { type, data } = JSONCodec().decode(m.data); // dev.keelson.task.completed.v1 or ...failed.v1
  console.log(type, data.taskId, data.status, data.status === 'succeeded' ? data.output : data.error.message);
}
