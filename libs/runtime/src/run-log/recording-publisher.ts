import type { CloudEvent } from '@keelson/contracts';
import type { EventPublisher } from './run-log';

export interface Published {
  subject: string;
  event: CloudEvent<Record<string, unknown>>;
  msgId?: string;
}

/**
 * A test double of the JetStream publisher: records what was published, in order, and can be told to fail
 * from the nth publish on (NATS going away in the middle of a run).
 */
export class RecordingPublisher implements EventPublisher {
  readonly published: Published[] = [];
  failFrom = Infinity;

  async publish(subject: string, payload: unknown, options?: { msgId?: string }): Promise<unknown> {
    if (this.published.length + 1 >= this.failFrom) throw new Error('nats: connection closed');
    this.published.push({ subject, event: payload as Published['event'], msgId: options?.msgId });
    return { stream: 'TEST', seq: this.published.length, duplicate: false };
  }

  types(): string[] {
    return this.published.map((p) => p.event.type.replace(/^dev\.keelson\.|\.v1$/g, ''));
  }
}
