import { RunEventNames, Subjects, TERMINAL_TASK_STATUSES, type TaskView } from '@keelson/contracts';
import { toErrorResponse } from '@keelson/nest-kit';
import type { TaskStore } from '@keelson/state';
import type { NatsConnection } from 'nats';
import type { SseStream } from '../http/sse';
import { readRunLog, type RunLogStart } from '../run-log/run-log-reader';

const WATCH_INTERVAL_MS = 1_000;

/**
 * Streams a task's run log as SSE, replaying what is already logged, and ends once the task has finished
 * and the reader has caught up. The task record decides "finished": a run.failed of an attempt that will be
 * retried does not end the stream, and a task whose log has aged out still ends with its final state.
 */
export async function streamTaskEvents(opts: {
  nats: NatsConnection;
  tasks: TaskStore;
  tenant: string;
  taskId: string;
  /** Where the replay starts (resumePoint: after Last-Event-ID, or the tenant's replay window). */
  start: RunLogStart;
  sse: SseStream;
}): Promise<void> {
  const { tasks, tenant, taskId, sse } = opts;
  const abort = new AbortController();
  void sse.closed.then(() => abort.abort());
  // Until a frame says otherwise; a replay reaches its first frame long before the watcher's first tick.
  let caughtUp = true;
  let finished: TaskView | undefined;

  const checkFinished = async (): Promise<boolean> => {
    const view = await tasks.get(tenant, taskId);
    if (view && TERMINAL_TASK_STATUSES.includes(view.status)) finished = view;
    return finished !== undefined;
  };
  const finish = () => {
    if (finished && sse.isOpen) sse.send(`task.${finished.status}`, finished);
    abort.abort();
    sse.end();
  };

  // Covers runs with nothing (more) in the log: a task finished long ago, or one not yet started.
  const watcher = setInterval(() => {
    void checkFinished().then((done) => {
      if (done && caughtUp) finish();
    }, () => undefined);
  }, WATCH_INTERVAL_MS);
  try {
    for await (const frame of readRunLog(opts.nats, Subjects.taskRun(tenant, taskId), opts.start, abort.signal)) {
      sse.send(frame.name, frame.event, String(frame.seq));
      caughtUp = frame.pending === 0;
      // A completed run is final; a failed one is final only if the task record says so (retries remain).
      const completed = frame.name === RunEventNames.completed;
      const maybeFinal = completed || frame.name === RunEventNames.failed || finished !== undefined;
      if (caughtUp && maybeFinal && ((await checkFinished()) || completed)) {
        finish();
        break;
      }
    }
  } catch (err) {
    sse.send('error', toErrorResponse(err).body.error);
  } finally {
    clearInterval(watcher);
    sse.end();
  }
}
