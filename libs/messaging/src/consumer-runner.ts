import type { Span } from '@opentelemetry/api';
import type { ConsumerSpec } from '@keelson/contracts';
import {
  ConsumerEvents,
  type Consumer,
  type ConsumerMessages,
  type ConsumerStatus,
  type JetStreamClient,
  type JsMsg,
  type NatsConnection,
} from 'nats';
import { decodeJson } from './codec';
import { Slots } from './concurrency';
import { deadLetterInputFrom, publishDeadLetter } from './dead-letter';
import { headersToRecord } from './headers';
import { toInboundMessage, type InboundMessage, type MessageHandler } from './inbound-message';
import { jsApiErrorCode } from './errors';
import { errorMeta, stderrLogger, type MessagingLogger } from './logger';
import { CONSUMER_NOT_FOUND, provisionConsumer } from './provisioning';
import { retryDelayMs, settleFailure } from './retry-policy';
import { StrandedMessages } from './stranded-messages';
import { extractTraceContext, markFailed, MessagingAttributes as A, SpanKind, tracer } from './tracing';

export interface ConsumerRunnerOptions {
  /** Handlers running at once; default 16. */
  concurrency?: number;
  logger?: MessagingLogger;
  /** Call working() every ackWaitMs/3 while a handler runs; default true. */
  heartbeat?: boolean;
  /** Most messages asked for in one pull request; default and maximum `concurrency`. */
  maxMessages?: number;
  /** Expiry of each pull request; the server's idle heartbeat is half of it. Default 30 000 ms. */
  pullExpiresMs?: number;
  /** Recreate the consumer from its spec when it is deleted under a running runner. Default true. */
  reprovision?: boolean;
  /** PubAck wait for a dead-letter publish; default 5 000 ms. */
  deadLetterTimeoutMs?: number;
  /**
   * Called, before the dead letter, for a message delivered past maxDeliver: its last attempt died with its
   * process, so no handler ever settled it. The owner's chance to record the give-up (a task's failed
   * result); an error here is logged and the message is dead-lettered all the same.
   */
  onExhausted?: (msg: InboundMessage) => Promise<void>;
  /** Counts for metrics (the Nest transport feeds them to Prometheus); called synchronously, must not throw. */
  metrics?: ConsumerRunnerMetrics;
  /**
   * How often to look for messages of a work-queue stream that the consumer will never deliver (left at or
   * below its ack floor by an abrupt server stop: stranded-messages.ts) and re-queue them. Default 15 000 ms;
   * 0 turns it off. A limits stream is never swept.
   */
  strandedSweepMs?: number;
}

/** How a message was settled. */
export type ConsumerOutcome = 'ack' | 'nak' | 'defer' | 'dead-letter' | 'released';
type Outcome = ConsumerOutcome;

/** What a ConsumerRunner reports as it goes; keeps this package free of any metrics library. */
export interface ConsumerRunnerMetrics {
  /** A message arrived again (delivery count above 1). */
  redelivered(): void;
  /** A message was settled; `dead-letter` means it was parked on the dead-letter stream. */
  settled(outcome: ConsumerOutcome): void;
}

interface Heartbeat {
  stop(): void;
}

/**
 * Runs `handler` for the messages of one durable pull consumer, and settles each message:
 *  - handler resolves -> ack()
 *  - PoisonMessageError or a body that is not JSON -> dead-letter, then term()
 *  - DeferError -> nak(delayMs)
 *  - anything else -> nak(backoff), or on the last delivery dead-letter with "max_deliver reached: ..."
 * A dead letter is published and its PubAck awaited before term(); if that fails the message is nak'd.
 *
 * Pulling: each pull request (fetch) asks for as many messages as there are free handler slots, so every
 * message that reaches this process starts at once, and no message waits in a client buffer while its
 * ack-wait clock runs. (nats.js consume() would pre-fetch and queue refill requests behind buffered
 * messages; one of those still runs after stop() and pulls messages to an inbox nobody reads any more.)
 *
 * Acks are plain ack(), not ackAck(): a lost ack only means a redelivery (handlers must be idempotent under
 * at-least-once anyway), ackAck would cost a round trip per message, and stop() flushes the connection so the
 * acks of finished work reach the server before the caller closes it.
 */
export class ConsumerRunner {
  private readonly js: JetStreamClient;
  private readonly logger: MessagingLogger;
  private readonly slots: Slots;
  private readonly heartbeat: boolean;
  private readonly maxMessages: number;
  private readonly pullExpiresMs: number;
  private readonly reprovision: boolean;
  private readonly deadLetterTimeoutMs: number;
  private readonly onExhausted: ConsumerRunnerOptions['onExhausted'];
  private readonly metrics: ConsumerRunnerMetrics | undefined;
  private readonly active = new Set<Promise<void>>();
  private readonly spanName: string;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private consumer: Consumer | undefined;
  private batch: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly strandedSweepMs: number;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly spec: ConsumerSpec,
    private readonly handler: MessageHandler,
    opts: ConsumerRunnerOptions = {},
  ) {
    this.js = nc.jetstream();
    this.logger = opts.logger ?? stderrLogger;
    this.slots = new Slots(opts.concurrency ?? 16);
    this.heartbeat = opts.heartbeat ?? true;
    this.maxMessages = Math.max(1, Math.min(opts.maxMessages ?? this.slots.size, this.slots.size));
    this.pullExpiresMs = opts.pullExpiresMs ?? 30_000;
    this.reprovision = opts.reprovision ?? true;
    this.deadLetterTimeoutMs = opts.deadLetterTimeoutMs ?? 5_000;
    this.onExhausted = opts.onExhausted;
    this.metrics = opts.metrics;
    this.strandedSweepMs = opts.strandedSweepMs ?? 15_000;
    this.spanName = `process ${spec.filterSubject}`;
  }

  /** Handlers running now. */
  get inFlight(): number {
    return this.active.size;
  }

  /** Starts pulling. The consumer must exist (provisionConsumer); this fails fast if it does not. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`ConsumerRunner ${this.spec.durable}: start() may be called once`);
    try {
      this.consumer = await this.js.consumers.get(this.spec.stream, this.spec.durable);
    } catch (err) {
      throw new Error(
        `consumer ${this.spec.durable} on stream ${this.spec.stream} is not available (${(err as Error).message}); ` +
          'provision it with provisionConsumer() first',
        { cause: err },
      );
    }
    this.state = 'running';
    this.loop = this.run(this.consumer);
    this.startSweeping();
    // A closed connection does not end a pull subscription's iterator by itself; end it here.
    void this.nc.closed().then(() => {
      this.batch?.stop();
      this.wake?.();
    });
    this.logger.info('consumer started', { ...this.where(), concurrency: this.slots.size, maxMessages: this.maxMessages });
  }

  /**
   * Stops pulling, hands back messages that arrived but were not started (nak, so another replica takes
   * them at once), waits for the running handlers to finish and settle, and flushes their acks to the server.
   */
  stop(): Promise<void> {
    if (this.state === 'new') {
      this.state = 'stopped';
      return Promise.resolve();
    }
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.state = 'stopping';
    clearInterval(this.sweepTimer);
    this.slots.abortWaiters();
    this.wake?.();
    this.batch?.stop();
    await this.loop;
    await Promise.allSettled([...this.active, this.sweeping]);
    if (!this.nc.isClosed()) await this.nc.flush().catch(() => undefined);
    this.state = 'stopped';
    this.logger.info('consumer stopped', this.where());
  }

  /**
   * The pull loop: wait for a free slot, reserve every free slot (up to maxMessages), fetch that many, start
   * each message as it arrives. A pull that fails (consumer deleted, server gone) is retried with backoff,
   * re-creating the consumer from its spec if it is missing.
   */
  private async run(consumer: Consumer): Promise<void> {
    let failures = 0;
    let idleSpins = 0;
    while (this.state === 'running') {
      if (!(await this.slots.acquire())) break;
      let reserved = 1;
      while (reserved < this.maxMessages && this.slots.tryAcquire()) reserved++;
      let used = 0;
      const startedAt = Date.now();
      try {
        const batch = await consumer.fetch({ max_messages: reserved, expires: this.pullExpiresMs });
        if (this.state !== 'running') {
          // Stopped while the fetch was being set up: do not iterate, or its pull request would still be sent.
          batch.stop();
          break;
        }
        this.batch = batch;
        void this.watch(batch);
        for await (const msg of batch) {
          if (this.state !== 'running' || used >= reserved) {
            this.release(msg);
            continue;
          }
          used++;
          this.launch(msg);
        }
        if (failures > 0) this.logger.info('pulling again', this.where());
        failures = 0;
      } catch (err) {
        if (this.state === 'running' && !this.nc.isClosed()) {
          failures++;
          const log = failures === 1 || failures % 20 === 0 ? this.logger.warn : this.logger.debug;
          log.call(this.logger, 'pull failed; retrying', { ...this.where(), attempt: failures, ...errorMeta(err) });
        }
      } finally {
        this.batch = undefined;
        for (let i = used; i < reserved; i++) this.slots.release();
      }
      if (this.state !== 'running') break;
      if (this.nc.isClosed()) {
        this.logger.error('the NATS connection is closed; this consumer stops pulling', this.where());
        break;
      }
      if (failures > 0) {
        if (this.reprovision) await this.reprovisionIfMissing();
        await this.pause(Math.min(250 * 2 ** Math.min(failures - 1, 5), 5_000));
      } else if (used === 0 && Date.now() - startedAt < 500) {
        // A pull that ends at once with nothing (it should wait `expires`): do not spin.
        await this.pause(Math.min(50 * 2 ** Math.min(idleSpins++, 6), 2_000));
      } else {
        idleSpins = 0;
      }
    }
  }

  /** Re-queues stranded messages on a timer; a failed sweep (NATS away) is retried at the next tick. */
  private startSweeping(): void {
    if (this.strandedSweepMs <= 0) return;
    const stranded = new StrandedMessages(this.nc, this.spec, this.logger);
    this.sweepTimer = setInterval(() => {
      if (this.sweeping || this.state !== 'running' || this.nc.isClosed()) return;
      this.sweeping = stranded
        .sweep()
        .then(() => undefined)
        .catch((err: unknown) => this.logger.debug('stranded-message sweep failed', { ...this.where(), ...errorMeta(err) }))
        .finally(() => (this.sweeping = undefined));
    }, this.strandedSweepMs);
    this.sweepTimer.unref();
  }

  private async watch(batch: ConsumerMessages): Promise<void> {
    let events: AsyncIterable<ConsumerStatus>;
    try {
      events = await batch.status();
    } catch {
      return;
    }
    for await (const event of events) {
      const meta = { ...this.where(), event: event.type, data: event.data };
      switch (event.type) {
        case ConsumerEvents.HeartbeatsMissed:
          this.logger.warn('pull request missed server heartbeats; pulling again', meta);
          break;
        case ConsumerEvents.ConsumerDeleted:
        case ConsumerEvents.ConsumerNotFound:
          this.logger.warn('consumer was deleted', { ...meta, reprovision: this.reprovision });
          break;
        case ConsumerEvents.StreamNotFound:
          this.logger.error('stream of the consumer not found', meta);
          break;
        case ConsumerEvents.NoResponders:
          this.logger.warn('no JetStream responders for the pull request', meta);
          break;
        default:
          this.logger.debug('pull status', meta);
      }
    }
  }

  /** After a failed pull: if the consumer is gone, create it again from its spec. */
  private async reprovisionIfMissing(): Promise<void> {
    try {
      const jsm = await this.nc.jetstreamManager();
      await jsm.consumers.info(this.spec.stream, this.spec.durable);
    } catch (err) {
      if (jsApiErrorCode(err) !== CONSUMER_NOT_FOUND) return;
      try {
        await provisionConsumer(this.nc, this.spec);
        this.logger.warn('consumer re-created from its spec', this.where());
      } catch (provisionErr) {
        this.logger.warn('cannot re-create the consumer', { ...this.where(), ...errorMeta(provisionErr) });
      }
    }
  }

  /** Runs one message in the slot reserved for it, without awaiting it. */
  private launch(msg: JsMsg): void {
    const heartbeat = this.startHeartbeat(msg);
    const task: Promise<void> = this.process(msg, heartbeat)
      .catch((err: unknown) => this.logger.error('unexpected error settling a message', { ...this.where(msg), ...errorMeta(err) }))
      .finally(() => {
        this.slots.release();
        this.active.delete(task);
      });
    this.active.add(task);
  }

  private process(msg: JsMsg, heartbeat: Heartbeat): Promise<void> {
    const headers = headersToRecord(msg.headers);
    const parent = extractTraceContext(headers);
    const attributes = {
      [A.system]: 'nats',
      [A.destination]: msg.subject,
      [A.destinationTemplate]: this.spec.filterSubject,
      [A.operationType]: 'process',
      [A.operationName]: 'process',
      [A.consumerGroup]: this.spec.durable,
      [A.stream]: msg.info.stream,
      [A.streamSequence]: msg.info.streamSequence,
      [A.deliveryCount]: msg.info.deliveryCount,
      [A.bodySize]: msg.data.length,
      [A.messageId]: msg.headers?.get('Nats-Msg-Id') || undefined,
    };
    return tracer.startActiveSpan(this.spanName, { kind: SpanKind.CONSUMER, attributes }, parent, async (span) => {
      try {
        const outcome = await this.handle(msg, headers, heartbeat, span);
        span.setAttribute(A.outcome, outcome);
        this.metrics?.settled(outcome);
      } finally {
        heartbeat.stop();
        span.end();
      }
    });
  }

  private async handle(
    msg: JsMsg,
    headers: Record<string, string>,
    heartbeat: Heartbeat,
    span: Span,
  ): Promise<Outcome> {
    const deliveryCount = msg.info.deliveryCount;
    this.logger.debug('message received', { ...this.where(msg), deliveryCount, maxDeliver: this.spec.maxDeliver });
    if (deliveryCount > 1) this.metrics?.redelivered();
    if (deliveryCount > this.spec.maxDeliver) {
      const reason =
        `max_deliver reached: delivery ${deliveryCount} of ${this.spec.maxDeliver}; ` +
        'the previous attempt did not finish (ack wait expired or its process stopped)';
      markFailed(span, new Error(reason));
      await this.reportExhausted(msg, headers);
      return this.deadLetter(msg, reason, heartbeat);
    }
    let data: unknown;
    try {
      data = decodeJson(msg.data);
    } catch (err) {
      markFailed(span, err);
      return this.deadLetter(msg, (err as Error).message, heartbeat);
    }
    try {
      await this.handler(toInboundMessage(msg, data, headers));
    } catch (err) {
      const settlement = settleFailure(this.spec, deliveryCount, err);
      if (settlement.action === 'dead-letter') {
        markFailed(span, err);
        return this.deadLetter(msg, settlement.reason, heartbeat);
      }
      heartbeat.stop();
      if (settlement.deferred) {
        this.logger.debug('message deferred', { ...this.where(msg), delayMs: settlement.delayMs, reason: (err as Error).message });
        this.settle(msg, 'nak', settlement.delayMs);
        return 'defer';
      }
      markFailed(span, err);
      this.logger.warn('handler failed; will retry', { ...this.where(msg), retryInMs: settlement.delayMs, ...errorMeta(err) });
      this.settle(msg, 'nak', settlement.delayMs);
      return 'nak';
    }
    heartbeat.stop();
    this.settle(msg, 'ack');
    return 'ack';
  }

  private async reportExhausted(msg: JsMsg, headers: Record<string, string>): Promise<void> {
    if (!this.onExhausted) return;
    try {
      await this.onExhausted(toInboundMessage(msg, decodeJson(msg.data), headers));
    } catch (err) {
      this.logger.warn('onExhausted failed; dead-lettering anyway', { ...this.where(msg), ...errorMeta(err) });
    }
  }

  /** Dead-letter first, term after; if the dead letter cannot be stored, nak so the message is not lost. */
  private async deadLetter(msg: JsMsg, reason: string, heartbeat: Heartbeat): Promise<Outcome> {
    try {
      const ack = await publishDeadLetter(this.js, deadLetterInputFrom(msg), reason, this.deadLetterTimeoutMs);
      heartbeat.stop();
      this.settle(msg, 'term');
      this.logger.warn('message dead-lettered', { ...this.where(msg), reason, deadLetterSeq: ack.seq, duplicate: ack.duplicate });
      return 'dead-letter';
    } catch (err) {
      heartbeat.stop();
      const delayMs = retryDelayMs(this.spec, msg.info.deliveryCount);
      this.logger.error('cannot publish the dead letter; nak so it comes back', { ...this.where(msg), reason, retryInMs: delayMs, ...errorMeta(err) });
      this.settle(msg, 'nak', delayMs);
      return 'nak';
    }
  }

  /** A message pulled but never started (shutdown): back to the server for someone else, at once. */
  private release(msg: JsMsg): void {
    this.settle(msg, 'nak');
    this.metrics?.settled('released');
  }

  private settle(msg: JsMsg, how: 'ack' | 'nak' | 'term', delayMs?: number): void {
    try {
      if (how === 'ack') msg.ack();
      // No term reason: servers before 2.10.4 only understand a bare +TERM and would ignore "+TERM reason".
      else if (how === 'term') msg.term();
      else msg.nak(delayMs);
    } catch (err) {
      // The connection is closed: the server redelivers after ack wait.
      this.logger.warn(`cannot ${how} the message`, { ...this.where(msg), ...errorMeta(err) });
    }
  }

  private startHeartbeat(msg: JsMsg): Heartbeat {
    if (!this.heartbeat) return { stop: () => undefined };
    const timer = setInterval(() => {
      try {
        msg.working();
      } catch {
        // connection closed; nothing to extend
      }
    }, Math.max(100, Math.floor(this.spec.ackWaitMs / 3)));
    return { stop: () => clearInterval(timer) };
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private where(msg?: JsMsg): Record<string, unknown> {
    const base = { stream: this.spec.stream, durable: this.spec.durable };
    if (!msg) return base;
    return { ...base, subject: msg.subject, seq: msg.info.streamSequence, deliveryCount: msg.info.deliveryCount };
  }
}
