import { ErrorCodes, KeelsonError, UsageRecordSchema, UsageStream, UsageSubjects, type UsageRecord } from '@keelson/contracts';
import { decodeJson } from '@keelson/messaging';
import { DeliverPolicy, type Consumer, type NatsConnection } from 'nats';
import type { UsageQuery } from './usage-query';
import { UsageTotalsBuilder, type UsageTotals } from './usage-totals';

/** One page of `GET /v1/usage`. */
export interface UsagePage {
  /** Over exactly the records of this page. */
  totals: UsageTotals;
  records: UsageRecord[];
  /** True when the read stopped before the end of the range; `nextCursor` continues it. */
  truncated: boolean;
  nextCursor?: string;
}

export interface UsageReaderOptions {
  /** Messages read (matching or not, e.g. another key's) before a page stops anyway. Default 10 x the max page. */
  maxScanned?: number;
  /** A page stops (truncated) after this long. Default 10 s. */
  timeoutMs?: number;
}

/**
 * Reads a tenant's usage records from KEELSON_USAGE with an ordered consumer (nothing durable is left on the
 * server; the consumer is deleted after the read): one subject filter (the tenant's, or one agent's), starting
 * at `from` (stream time) or at a cursor (a stream sequence), until `to`, the end of the stream, or the page
 * limit. The key filter is applied here, since the key is not part of the subject.
 */
export class UsageReader {
  private readonly maxScanned: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly nats: NatsConnection,
    options: UsageReaderOptions = {},
  ) {
    this.maxScanned = options.maxScanned ?? 10_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  async read(tenant: string, query: UsageQuery): Promise<UsagePage> {
    const totals = new UsageTotalsBuilder();
    const records: UsageRecord[] = [];
    const page = (truncated: boolean, nextSeq?: number): UsagePage => ({
      totals: totals.totals(),
      records,
      truncated,
      ...(truncated && nextSeq !== undefined ? { nextCursor: String(nextSeq) } : {}),
    });

    let consumer: Consumer;
    let messages;
    try {
      consumer = await this.nats.jetstream().consumers.get(UsageStream.name, {
        // One subject: nats-server 2.9 has no filter_subjects.
        filterSubjects: query.agentId ? UsageSubjects.record(tenant, query.agentId) : UsageSubjects.tenant(tenant),
        ...startOf(query),
      });
      messages = await consumer.consume({ max_messages: Math.min(256, query.limit + 16), abort_on_missing_resource: true });
    } catch (err) {
      // No usage stream (not provisioned yet, nothing ever recorded): an empty page, not an error.
      if (/stream not found/i.test((err as Error).message)) return page(false);
      throw err;
    }
    const toNanos = query.to ? BigInt(query.to.getTime()) * 1_000_000n : undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void messages.stop();
    }, this.timeoutMs);
    let scanned = 0;
    let nextSeq: number | undefined = query.cursor;
    try {
      // The consumer counts what matches the filter from the start; none means an empty page without waiting.
      if ((await consumer.info(true)).num_pending === 0) return page(false);
      for await (const message of messages) {
        if (toNanos !== undefined && BigInt(message.info.timestampNanos) >= toNanos) return page(false);
        scanned += 1;
        nextSeq = message.seq + 1;
        const record = parseRecord(message.data);
        if (record && record.tenant === tenant && (query.apiKeyId === undefined || record.apiKeyId === query.apiKeyId)) {
          records.push(record);
          totals.add(record);
        }
        const more = message.info.pending > 0;
        if (!more) return page(false);
        if (records.length >= query.limit || scanned >= this.maxScanned) return page(true, nextSeq);
      }
      if (timedOut) {
        if (scanned === 0) throw new KeelsonError(504, ErrorCodes.timeout, `reading usage took longer than ${this.timeoutMs} ms`);
        return page(true, nextSeq);
      }
      return page(false);
    } finally {
      clearTimeout(timer);
      void messages.stop();
      void deleteQuietly(consumer);
    }
  }
}

function startOf(query: UsageQuery): { deliver_policy?: DeliverPolicy; opt_start_seq?: number; opt_start_time?: string } {
  if (query.cursor !== undefined) return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: query.cursor };
  if (query.from !== undefined) return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: query.from.toISOString() };
  // Left unset, an ordered consumer starts at the beginning (nats.js rejects an explicit DeliverPolicy.All).
  return {};
}

function parseRecord(data: Uint8Array): UsageRecord | undefined {
  try {
    const parsed = UsageRecordSchema.safeParse(decodeJson(data));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

async function deleteQuietly(consumer: Consumer): Promise<void> {
  await consumer.delete().catch(() => undefined);
}
