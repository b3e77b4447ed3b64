// Reads the task results of tenant `dev` through a durable consumer of your own. The consumer remembers what
// was acknowledged, so a restart continues where it stopped. Ctrl-C to stop.
// Usage: node docs/examples/subscribe-results.mjs [durable-name]     (NATS_URL overrides the server)
import { AckPolicy, DeliverPolicy, JSONCodec, connect } from 'nats';

const durable = process.argv[2] ?? 'my-team';
const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });

// Creating it again with the same settings is a no-op; different settings are refused.
await (await nc.jetstreamManager()).consumers.add('KEELSON_RESULTS', {
  durable_name: durable,
  filter_subject: 'keelson.results.dev.>',
  ack_policy: AckPolicy.Explicit,
  deliver_policy: DeliverPolicy.All, // from the first result kept; or New, StartSequence, StartTime
});

const consumer = await nc.jetstream().consumers.get('KEELSON_RESULTS', durable);
for await (const m of await consumer.consume()) {
  const { type, data } = JSONCodec().decode(m.data);
  console.log(m.seq, type, data.taskId, data.status, data.status === 'succeeded' ? data.output : data.error.message);
  m.ack();
}
