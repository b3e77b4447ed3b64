// Lists the dead-letter stream, or republishes one dead letter to the subject it came from.
//   node docs/examples/dead-letters.mjs                            list: sequence, time, origin, reason
//   node docs/examples/dead-letters.mjs replay <seq> <nats-msg-id>  republish its body, unchanged, with that Nats-Msg-Id
// NATS_URL overrides the server. See docs/operations.md for when a replay makes sense.
import { connect, headers } from 'nats';

const [command, seqArg, msgId] = process.argv.slice(2);
const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
const jsm = await nc.jetstreamManager();

if (command === 'replay') {
  if (!seqArg || !msgId) throw new Error('usage: dead-letters.mjs replay <seq> <nats-msg-id>');
  const dead = await jsm.streams.getMessage('KEELSON_DLQ', { seq: Number(seqArg) });
  const subject = dead.header.get('Keelson-Dead-Letter-Subject');
  const h = headers();
  h.set('Nats-Msg-Id', msgId); // a new id: the original one may still be inside the duplicate window
  const ack = await nc.jetstream().publish(subject, dead.data, { headers: h });
  console.log(`republished dead letter ${seqArg} to ${subject}:`, ack);
} else {
  const { state } = await jsm.streams.info('KEELSON_DLQ');
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage('KEELSON_DLQ', { seq }).catch(() => undefined); // purged or deleted
    if (!m) continue;
    const h = (name) => m.header.get(name);
    console.log(`#${seq} ${m.time.toISOString()} ${h('Keelson-Dead-Letter-Subject')} (${h('Keelson-Dead-Letter-Stream')} #${h('Keelson-Dead-Letter-Seq')}, ` +
      `msg id ${h('Keelson-Dead-Letter-Msg-Id') || '-'}, ${h('Keelson-Deliveries')} deliveries)\n    ${h('Keelson-Dead-Letter-Reason')}`);
  }
}
await nc.drain();
