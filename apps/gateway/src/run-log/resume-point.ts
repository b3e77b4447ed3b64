import { ErrorCodes, KeelsonError, Streams } from '@keelson/contracts';
import type { NatsConnection } from 'nats';
import type { RetentionPolicy } from './retention';
import type { RunLogStart } from './run-log-reader';

/**
 * Turns a client's resume point (the SSE `Last-Event-ID`, the WebSocket `resumeFrom`) into where a run-log
 * read starts, within the tenant's replay window:
 * - none (or 0): from the start of the window;
 * - not digits: 400 naming the field;
 * - past the log's last sequence, or an event of another subject filter: 400;
 * - aged out of the log, or older than the tenant's window: 410 replay_window_exceeded.
 */
export async function resumePoint(opts: {
  nats: NatsConnection;
  retention: RetentionPolicy;
  tenant: string;
  /** The filter the stream reads, e.g. Subjects.sessionRuns(...); the resume event must be under it. */
  filter: string;
  value: string | undefined;
  field: string;
}): Promise<RunLogStart> {
  const { nats, retention, tenant, filter, value, field } = opts;
  const since = retention.horizon(tenant);
  if (value === undefined || value === '') return { since };
  if (!/^\d{1,15}$/.test(value)) {
    throw new KeelsonError(400, ErrorCodes.validationFailed, `${field} must be the sequence number (digits) of an event you received`, field);
  }
  const afterSeq = Number(value);
  if (afterSeq === 0) return { since };
  const jsm = await nats.jetstreamManager();
  const { state } = await jsm.streams.info(Streams.runs.name);
  if (afterSeq > state.last_seq) {
    throw new KeelsonError(400, ErrorCodes.validationFailed, `${field} ${afterSeq} is not an event of this stream`, field);
  }
  const gone = () =>
    new KeelsonError(
      410,
      ErrorCodes.replayWindowExceeded,
      `event ${afterSeq} is older than this tenant's replay window (${Math.round(retention.windowMs(tenant) / 1000)} s); reconnect without ${field} to replay what is kept`,
      field,
    );
  if (afterSeq < state.first_seq) throw gone();
  const message = await jsm.streams.getMessage(Streams.runs.name, { seq: afterSeq }).catch(() => undefined);
  if (!message) throw gone();
  const prefix = filter.endsWith('>') ? filter.slice(0, -1) : undefined;
  if (prefix ? !message.subject.startsWith(prefix) : message.subject !== filter) {
    throw new KeelsonError(400, ErrorCodes.validationFailed, `${field} ${afterSeq} is not an event of this stream`, field);
  }
  if (message.time.getTime() < since.getTime()) throw gone();
  return { afterSeq };
}
