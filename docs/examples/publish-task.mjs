// Publishes one task straight onto NATS and waits for JetStream's acknowledgement (the PubAck).
// Usage: node docs/examples/publish-task.mjs [idempotency-key] [input]     (NATS_URL overrides the server)
import { createHash } from 'node:crypto';
import { connect, headers, JSONCodec } from 'nats';

const tenant = 'dev';
const key = process.argv[2] ?? `example-${Date.now()}`;
const input = process.argv[3] ?? 'Summarise the plan.';

const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
const h = headers();
h.set('Nats-Msg-Id', `${tenant}:${key}`); // the idempotency key, prefixed with the tenant
const ack = await nc.jetstream().publish(`keelson.tasks.${tenant}.assistant`, JSONCodec().encode({ input }), { headers: h });
// The same derivation as taskIdForKey() in libs/contracts: the same key always names the same task.
const taskId = `tsk_${createHash('sha256').update(`${tenant}\n${key}`).digest('hex').slice(0, 32)}`;
console.log({ stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate, taskId });
await nc.drain();
