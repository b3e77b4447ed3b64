import { Headers, type ConsumerSpec } from '@keelson/contracts';
import { headers as natsHeaders, RetentionPolicy, type JetStreamManager, type MsgHdrs, type NatsConnection, type StoredMsg } from 'nats';
import { errorMeta, type MessagingLogger } from './logger';

/** Most stranded messages looked at (and re-queued) in one sweep; the next sweep goes on. */
const MAX_PER_SWEEP = 256;
/** Headers of the original that must not travel with the copy: the copy has its own id, and no expectations. */
const NOT_COPIED = /^nats-(?:msg-id|expected-)/i;

/**
 * Finds and re-queues the messages a work-queue consumer will never deliver: still in the stream, at or below
 * the consumer's ack floor. nats-server leaves them behind after an abrupt stop (seen here on 2.9.10 after
 * kill -9; nats-io/nats-server#5412 and #6124 report it on 2.10):
 *  - the stream loses its last writes not yet flushed while the consumer's delivered sequence survives, so the
 *    next messages reuse sequences the consumer counts as done and are skipped: acknowledged, never run;
 *  - acks whose deletion was not written leave finished messages in the queue until max age.
 * A message seen stranded by two sweeps in a row (so not one being acknowledged at that moment) is published
 * again as a copy that carries the original's sequence and Nats-Msg-Id in headers, which the consumer reads
 * as its own (toInboundMessage), then the original is deleted. Handlers are idempotent, so a finished
 * leftover is acknowledged without running again, and a skipped message runs once. The copy's own Nats-Msg-Id
 * names the original, so replicas sweeping at once publish it once.
 */
export class StrandedMessages {
  /** Sequences seen stranded by the last sweep. */
  private suspects = new Set<number>();
  private jsm: JetStreamManager | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly spec: Pick<ConsumerSpec, 'stream' | 'durable' | 'filterSubject'>,
    private readonly logger: MessagingLogger,
  ) {}

  /** One look; returns how many messages it re-queued. Not for limits streams, where acked messages stay by design. */
  async sweep(): Promise<number> {
    const jsm = (this.jsm ??= await this.nc.jetstreamManager());
    const stranded = await this.find(jsm);
    const confirmed = stranded.filter((m) => this.suspects.has(m.seq));
    this.suspects = new Set(stranded.filter((m) => !this.suspects.has(m.seq)).map((m) => m.seq));
    let requeued = 0;
    for (const m of confirmed) {
      try {
        await this.requeue(jsm, m);
        requeued++;
      } catch (err) {
        this.logger.warn('cannot re-queue a stranded message; the next sweep tries again', { ...this.where(), seq: m.seq, ...errorMeta(err) });
      }
    }
    if (requeued > 0) {
      this.logger.warn('re-queued messages the consumer would never deliver (left at or below its ack floor)', {
        ...this.where(),
        requeued,
        seqs: confirmed.map((m) => m.seq).slice(0, 20),
      });
    }
    return requeued;
  }

  private async find(jsm: JetStreamManager): Promise<StoredMsg[]> {
    const stream = await jsm.streams.info(this.spec.stream);
    if (stream.config.retention !== RetentionPolicy.Workqueue || stream.state.messages === 0) return [];
    const floor = (await jsm.consumers.info(this.spec.stream, this.spec.durable)).ack_floor.stream_seq;
    const found: StoredMsg[] = [];
    for (let seq = stream.state.first_seq; seq <= floor && found.length < MAX_PER_SWEEP; ) {
      // next_by_subj jumps the deleted sequences between two stranded messages in one request.
      const m = await jsm.streams.getMessage(this.spec.stream, { seq, next_by_subj: this.spec.filterSubject } as unknown as number).catch(() => undefined);
      if (!m || m.seq > floor) break;
      found.push(m);
      seq = m.seq + 1;
    }
    return found;
  }

  private async requeue(jsm: JetStreamManager, m: StoredMsg): Promise<void> {
    const original = copyHeaders(m.header);
    const fromSeq = original.get(Headers.requeuedFromSeq) || String(m.seq);
    const msgId = original.has(Headers.requeuedFromSeq) ? original.get(Headers.requeuedMsgId) : m.header?.get(Headers.msgId);
    original.set(Headers.requeuedFromSeq, fromSeq);
    if (msgId) original.set(Headers.requeuedMsgId, msgId);
    await this.nc.jetstream().publish(m.subject, m.data, { headers: original, msgID: `keelson-requeued:${this.spec.stream}:${fromSeq}:${m.seq}` });
    await jsm.streams.deleteMessage(this.spec.stream, m.seq, false).catch(() => false);
  }

  private where(): Record<string, unknown> {
    return { stream: this.spec.stream, durable: this.spec.durable };
  }
}

function copyHeaders(from: MsgHdrs | undefined): MsgHdrs {
  const to = natsHeaders();
  for (const key of from?.keys() ?? []) {
    if (NOT_COPIED.test(key)) continue;
    for (const v of from!.values(key)) to.append(key, v);
  }
  return to;
}
