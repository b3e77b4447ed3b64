import { UsageRecordSchema, UsageStream, UsageSubjects } from '@keelson/contracts';
import { decodeJson, type MessagingLogger } from '@keelson/messaging';
import { DeliverPolicy, type ConsumerMessages, type NatsConnection } from 'nats';
import type { SpendWindow } from './spend-window';
import { MAX_WINDOW_MS } from './time-buckets';

/**
 * Follows KEELSON_USAGE into a SpendWindow with an ordered consumer (nothing durable on the server), starting
 * MAX_WINDOW_MS back so a restarted gateway draws the last hour at once. Records that fail the schema are
 * skipped: the audit and usage APIs report on them, the dashboard only draws.
 */
export class UsageFeed {
  private messages: ConsumerMessages | undefined;
  private stopped = false;

  constructor(
    private readonly nats: NatsConnection,
    private readonly window: SpendWindow,
    private readonly logger: MessagingLogger,
  ) {}

  async start(): Promise<void> {
    const consumer = await this.nats.jetstream().consumers.get(UsageStream.name, {
      filterSubjects: UsageSubjects.all,
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(Date.now() - MAX_WINDOW_MS).toISOString(),
    });
    if (this.stopped) return;
    this.messages = await consumer.consume({ max_messages: 512 });
    void this.follow(this.messages);
  }

  stop(): void {
    this.stopped = true;
    this.messages?.stop();
  }

  private async follow(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const message of messages) {
        const parsed = UsageRecordSchema.safeParse(safeJson(message.data));
        if (parsed.success) this.window.add(parsed.data);
      }
    } catch (err) {
      if (!this.stopped) this.logger.warn('the dashboard usage feed stopped', { error: err instanceof Error ? err.message : String(err) });
    }
  }
}

function safeJson(data: Uint8Array): unknown {
  try {
    return decodeJson(data);
  } catch {
    return undefined;
  }
}
