// Publishes one task straight onto NATS as tenant `dev` and waits for JetStream's acknowledgement (the PubAck).
// Usage: node docs/examples/publish-task.mjs [idempotency-key] [input]
// The local stack's NATS (npm start) needs the tenant's credentials: NATS_URL (default nats://127.0.0.1:4223)
// and NATS_NKEY_SEED_FILE (default .keelson/nats-auth/tenant-dev.nk) override them.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, headers, JSONCodec, nkeyAuthenticator } from 'nats';

const tenant = 'dev';
const key = process.argv[2] ?? `example-${Date.now()}`;
const input = process.argv[3] ?? 'Summarise the plan.';

const seed = readFileSync(process.env.NATS_NKEY_SEED_FILE ?? '.keelson/nats-auth/tenant-dev.nk', 'utf8').trim();
const nc = await connect({
  servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4223',
  authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)),
  inboxPrefix: `_INBOX.tenant.${tenant}`, // the only inbox this tenant may read: the PubAck comes back here
});
const h = headers();
h.set('Nats-Msg-Id', `${tenant}:${key}`); // the idempotency key, prefixed with the tenant
const ack = await nc.jetstream().publish(`keelson.tasks.${tenant}.assistant`, JSONCodec().encode({ input }), { headers: h });
// The same derivation as taskIdForKey() in libs/contracts: the same key always names the same task.
const taskId = `tsk_${createHash('sha256').update(`${tenant}\n${key}`).digest('hex').slice(0, 32)}`;
console.log({ stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate, taskId });
await nc.drain();
