import { Streams, Subjects, type RunReplay } from '@keelson/contracts';
import type { NatsConnection } from 'nats';
import { readRunLog } from '../run-log/run-log-reader';

/** The most steps one replay returns; a longer run says `truncated`. */
export const MAX_REPLAY_STEPS = 5_000;
const READ_TIMEOUT_MS = 5_000;

export interface ReplayTarget {
  tenant: string;
  kind: 'task' | 'session';
  id: string;
}

/**
 * A task's run, or every turn of a session, read from the run log as it stands now, for the dashboard's run
 * viewer. Undefined when the log holds nothing for it (never run, or past retention).
 */
export async function replayRun(nats: NatsConnection, target: ReplayTarget, maxSteps = MAX_REPLAY_STEPS): Promise<RunReplay | undefined> {
  const subject = target.kind === 'task' ? Subjects.taskRun(target.tenant, target.id) : Subjects.sessionRuns(target.tenant, target.id);
  const info = await nats.jetstream().jetstreamManager().then((jsm) => jsm.streams.info(Streams.runs.name, { subjects_filter: subject }));
  const count = Object.values(info.state.subjects ?? {}).reduce((sum, n) => sum + n, 0);
  if (count === 0) return undefined;

  const steps: RunReplay['steps'] = [];
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), READ_TIMEOUT_MS);
  let truncated = false;
  try {
    for await (const frame of readRunLog(nats, subject, {}, stop.signal)) {
      if (steps.length === maxSteps) {
        truncated = true;
        break;
      }
      steps.push({ seq: frame.seq, name: frame.name, time: frame.event.time, data: frame.event.data });
      if (frame.pending === 0) break;
    }
  } finally {
    clearTimeout(timer);
    stop.abort();
  }
  return { tenant: target.tenant, kind: target.kind, id: target.id, steps, truncated };
}
