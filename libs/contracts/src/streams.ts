import { Subjects } from './subjects';
import { MemoryConsumers, MemoryStreams } from './memory';
import { UsageStream } from './usage';
import { AuditConsumers, AuditStream } from './audit';

/**
 * JetStream streams and consumers, declared as data. The messaging lib provisions them idempotently at
 * start; production overrides (replicas, storage sync) come from deployment configuration, not edits here.
 */
export interface StreamSpec {
  name: string;
  subjects: string[];
  /** `workqueue`: a message is gone once acknowledged. `limits`: kept for replay until max age. */
  retention: 'workqueue' | 'limits';
  maxAgeMs: number;
  /** How long JetStream remembers a Nats-Msg-Id to drop a re-published duplicate. */
  duplicateWindowMs: number;
  description: string;
}

export interface ConsumerSpec {
  stream: string;
  durable: string;
  filterSubject: string;
  /** The clock runs from delivery to the client's buffer; long work extends it with working(). */
  ackWaitMs: number;
  /** Deliveries before the message is dead-lettered; JetStream's default is unlimited. */
  maxDeliver: number;
  maxAckPending: number;
  /** Delays for the nth retry after a failure (the last value repeats). */
  retryBackoffMs: number[];
  description: string;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const Streams = {
  tasks: {
    name: 'KEELSON_TASKS',
    subjects: [Subjects.allTasks],
    retention: 'workqueue',
    maxAgeMs: 7 * DAY,
    duplicateWindowMs: HOUR,
    description: 'Async tasks waiting for a task-worker; removed once acknowledged.',
  },
  sessionTurns: {
    name: 'KEELSON_SESSION_TURNS',
    subjects: [Subjects.allSessionTurns],
    retention: 'workqueue',
    maxAgeMs: DAY,
    duplicateWindowMs: 10 * MINUTE,
    description: 'Turns of stateful sessions waiting for their owner.',
  },
  results: {
    name: 'KEELSON_RESULTS',
    subjects: [Subjects.allResults],
    retention: 'limits',
    maxAgeMs: 7 * DAY,
    duplicateWindowMs: HOUR,
    description: 'One final result per task, kept for subscribers to replay from any point.',
  },
  runs: {
    name: 'KEELSON_RUNS',
    subjects: [Subjects.allRuns],
    retention: 'limits',
    maxAgeMs: DAY,
    duplicateWindowMs: 2 * MINUTE,
    description: 'The run log: started, delta, completed and failed events of every task run and session turn.',
  },
  approvals: {
    name: 'KEELSON_APPROVALS',
    subjects: [Subjects.allApprovals],
    retention: 'workqueue',
    maxAgeMs: 7 * DAY,
    duplicateWindowMs: HOUR,
    description: 'Decisions on paused runs (approve or reject a tool call); a task-worker resumes the run.',
  },
  deadLetters: {
    name: 'KEELSON_DLQ',
    subjects: [Subjects.allDeadLetters],
    retention: 'limits',
    maxAgeMs: 30 * DAY,
    duplicateWindowMs: 2 * MINUTE,
    description: 'Messages given up on, each with the reason, source stream, subject and sequence in headers.',
  },
  usage: UsageStream,
  memoryWrites: MemoryStreams.writes,
  audit: AuditStream,
} as const satisfies Record<string, StreamSpec>;

export const Consumers = {
  taskWorker: {
    stream: Streams.tasks.name,
    durable: 'task-worker',
    filterSubject: Subjects.allTasks,
    ackWaitMs: 30_000,
    maxDeliver: 5,
    maxAckPending: 512,
    retryBackoffMs: [500, 2_000, 8_000, 30_000],
    description: 'Task-worker replicas share this consumer as competing consumers.',
  },
  taskApprovals: {
    stream: Streams.approvals.name,
    durable: 'task-worker-approvals',
    filterSubject: Subjects.allApprovals,
    ackWaitMs: 30_000,
    maxDeliver: 5,
    maxAckPending: 512,
    retryBackoffMs: [500, 2_000, 8_000, 30_000],
    description: 'Task-worker replicas share this consumer: whichever takes a decision resumes the paused run.',
  },
  sessionAgent: {
    stream: Streams.sessionTurns.name,
    durable: 'session-agent',
    filterSubject: Subjects.allSessionTurns,
    ackWaitMs: 30_000,
    // Waiting for an earlier turn of the same session also counts as a delivery, hence the headroom.
    maxDeliver: 60,
    maxAckPending: 512,
    retryBackoffMs: [100, 250, 500, 1_000, 2_000],
    description: 'Session-agent replicas share this consumer; per-session order is kept by a lease in Redis.',
  },
  memoryWriter: MemoryConsumers.writer,
  auditWriter: AuditConsumers.writer,
} as const satisfies Record<string, ConsumerSpec>;
