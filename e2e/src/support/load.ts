import { request as httpRequest } from 'node:http';
import { Consumers, Headers, parseTaskMsgId, Streams, Subjects, taskIdForKey, taskMsgId } from '@keelson/contracts';
import { waitFor } from '@keelson/testing';
import { headers as natsHeaders, JSONCodec, type NatsConnection } from 'nats';
import { API_KEY } from './mesh';

/**
 * A steady load of all three execution models through every gateway replica, plus tasks published straight
 * on NATS, with a record of what was admitted and what came back, and the checks the resilience suites make
 * on that record (issue 11: rolling restart, faults under load, soak).
 */

export interface Reply {
  status: number;
  body: any;
  retryAfter?: string;
  /** A transport failure: `ECONNREFUSED`, `ECONNRESET`, `timeout`... (status 0). */
  error?: string;
  /** The gateway that answered (or refused). */
  base: string;
  /** When the request was sent and when its answer (or failure) came, ms since the epoch. */
  sentAt: number;
  at: number;
}

/**
 * Refused before admission: nothing listens (a gateway restarting), or a 503 that asks for a retry. A new
 * connection per request (no keep-alive), so a gateway that stops listening refuses the connection instead of
 * cutting an idle kept-alive socket under a request already on its way, where the client cannot tell whether
 * it was admitted.
 */
export const refusedBeforeAdmission = (r: Reply) => r.error === 'ECONNREFUSED' || (r.status === 503 && r.retryAfter !== undefined);

/** An answer that says what went wrong: a 4xx/5xx with the error body every service uses. */
export const isClearError = (r: Reply) => r.status >= 400 && typeof r.body === 'object' && r.body !== null && 'error' in r.body;

function send(base: string, method: string, path: string, body: unknown, timeoutMs: number): Promise<Reply> {
  const sentAt = Date.now();
  return new Promise((settle) => {
    const resolve = (r: Omit<Reply, 'sentAt' | 'at'>) => settle({ ...r, sentAt, at: Date.now() });
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(`${base}${path}`, {
      method,
      agent: false,
      headers: {
        authorization: `Bearer ${API_KEY}`,
        ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
      },
      timeout: timeoutMs,
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: 0, body: undefined, error: err.code ?? err.message, base }));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ status: 0, body: undefined, error: err.code ?? err.message, base }));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          // kept as text: a non-JSON body is itself a finding
        }
        const retryAfter = res.headers['retry-after'];
        resolve({ status: res.statusCode ?? 0, body: parsed, base, ...(typeof retryAfter === 'string' ? { retryAfter } : {}) });
      });
    });
    req.end(payload);
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Which gateways answer /readyz with 200, looked at every 100 ms, as a load balancer's health check does: a
 * gateway that shuts down turns not ready first (SHUTDOWN_DRAIN_MS) and gets no new requests from then on.
 */
export function watchReadiness(bases: string[], intervalMs = 100) {
  const ready = new Map<string, boolean>();
  let running = true;
  const loop = (async () => {
    while (running) {
      await Promise.all([...bases].map(async (b) => ready.set(b, (await send(b, 'GET', '/readyz', undefined, 2_000)).status === 200)));
      await pause(intervalMs);
    }
  })();
  return {
    /** A gateway not looked at yet counts as ready (a replacement is ready when it is added). */
    isReady: (base: string) => ready.get(base) ?? true,
    async stop() {
      running = false;
      await loop;
    },
  };
}

/**
 * Round-robin over `bases` (the caller may swap an entry when a gateway is replaced), skipping those that
 * `readiness` says are not ready; a request refused before admission goes to the next gateway after a short
 * pause, up to `retryForMs`. The answer is the first one that is not such a refusal, or the last refusal.
 */
export function gatewayClient(bases: string[], readiness?: { isReady(base: string): boolean }, retryForMs = 60_000) {
  let next = 0;
  let refusals = 0;
  const pick = () => {
    for (let i = 0; i < bases.length; i++) {
      const base = bases[next++ % bases.length]!;
      if (!readiness || readiness.isReady(base)) return base;
    }
    return bases[next++ % bases.length]!; // none ready: try anyway, a refusal is retried
  };
  const call = async (method: string, path: string, body?: unknown, timeoutMs = 60_000): Promise<Reply> => {
    const deadline = Date.now() + retryForMs;
    for (;;) {
      const reply = await send(pick(), method, path, body, timeoutMs);
      if (!refusedBeforeAdmission(reply) || Date.now() > deadline) return reply;
      refusals++;
      await pause(100);
    }
  };
  return {
    post: (path: string, body: unknown, timeoutMs?: number) => call('POST', path, body, timeoutMs),
    get: (path: string, timeoutMs?: number) => call('GET', path, undefined, timeoutMs),
    /** Requests refused before admission and sent again. */
    refusals: () => refusals,
  };
}

export interface LoadOptions {
  bases: string[];
  nc: NatsConnection;
  /** Distinguishes this load's keys and contents from any other in the same mesh. */
  prefix: string;
  /** Concurrent clients of each kind. */
  httpTaskClients?: number;
  natsTaskClients?: number;
  sessions?: number;
  /** Each session client moves to a new session after this many turns, so histories stay short (the soak). */
  turnsPerSession?: number;
  invokeClients?: number;
  /** A client's pause between two requests (load shaping, not synchronisation). */
  paceMs?: number;
  /** The model time of a task, and of every other session turn. */
  slowMs?: number;
  agentId?: string;
  /**
   * A ceiling on requests per second over all clients together (the soak's "half capacity"), shared out
   * equally: each client takes a slot of its own share before each request, so the cheapest kind (a NATS
   * publish, which waits for no run) cannot take the others' share and outrun the workers. Unset: each
   * client only pauses `paceMs`.
   */
  ratePerSecond?: number;
}

interface SentTurn {
  content: string;
  reply?: Reply;
}

export interface LoadRecord {
  /** Acknowledged tasks (202 from a gateway, or a PubAck), by task id, with how each came. */
  tasks: Map<string, 'http' | 'nats'>;
  /** When each task was acknowledged (ISO time), to place a lost one among the faults. */
  taskAckedAt: Map<string, string>;
  sessions: Array<{ id: string; sent: SentTurn[] }>;
  invokes: Reply[];
  /** Admitted requests that were not answered with success: the rolling restart allows none. */
  failures: Array<{ what: string; reply: Reply }>;
  /** NATS publishes that got no PubAck (the bus away); retried with the same Nats-Msg-Id. */
  publishRetries: number;
}

export interface Load {
  record: LoadRecord;
  refusals(): number;
  /** Completed requests so far, of every kind: a check that the load moves. */
  completed(): number;
  /** Stops the clients after their current request and waits for them. */
  stop(): Promise<void>;
}

const codec = JSONCodec<unknown>();

/** Hands out start times `1 / ratePerSecond` apart; no rate: at once. */
function rateSlots(ratePerSecond?: number): () => Promise<void> {
  if (!ratePerSecond) return async () => undefined;
  let nextAt = Date.now();
  return async () => {
    const now = Date.now();
    const at = Math.max(now, nextAt);
    nextAt = at + 1_000 / ratePerSecond;
    if (at > now) await pause(at - now);
  };
}

export async function startLoad(opts: LoadOptions): Promise<Load> {
  const readiness = watchReadiness(opts.bases);
  const api = gatewayClient(opts.bases, readiness);
  const agentId = opts.agentId ?? 'assistant';
  const slowMs = opts.slowMs ?? 300;
  const paceMs = opts.paceMs ?? 200;
  const record: LoadRecord = { tasks: new Map(), taskAckedAt: new Map(), sessions: [], invokes: [], failures: [], publishRetries: 0 };
  let completed = 0;
  let running = true;
  const clients = (opts.httpTaskClients ?? 2) + (opts.natsTaskClients ?? 1) + (opts.sessions ?? 2) + (opts.invokeClients ?? 1);
  const share = opts.ratePerSecond && opts.ratePerSecond / clients;

  const openSession = async (): Promise<LoadRecord['sessions'][number] | Reply> => {
    const created = await api.post('/v1/sessions', { agentId });
    if (created.status !== 201) return created;
    const session = { id: created.body.sessionId as string, sent: [] };
    record.sessions.push(session);
    return session;
  };
  const firstSessions: Array<LoadRecord['sessions'][number]> = [];
  for (let s = 0; s < (opts.sessions ?? 2); s++) {
    const session = await openSession();
    if ('status' in session) throw new Error(`cannot create a session for the load: ${session.status} ${JSON.stringify(session.body)}`);
    firstSessions.push(session);
  }

  const httpTasks = Array.from({ length: opts.httpTaskClients ?? 2 }, async (_, w) => {
    const slot = rateSlots(share);
    for (let i = 0; running; i++) {
      const key = `${opts.prefix}-h${w}-${i}`;
      await slot();
      const reply = await api.post('/v1/tasks', { agentId, input: `__slow:${slowMs}__ ${key}`, idempotencyKey: key }, 30_000);
      completed++;
      if (reply.status === 202) {
        record.tasks.set(reply.body.taskId, 'http');
        record.taskAckedAt.set(reply.body.taskId, new Date(reply.at).toISOString());
      }
      else record.failures.push({ what: `task ${key}`, reply });
      await pause(paceMs);
    }
  });

  const js = opts.nc.jetstream();
  const natsTasks = Array.from({ length: opts.natsTaskClients ?? 1 }, async (_, w) => {
    const slot = rateSlots(share);
    for (let i = 0; running; i++) {
      const key = `${opts.prefix}-n${w}-${i}`;
      const h = natsHeaders();
      h.set('Nats-Msg-Id', taskMsgId('dev', key));
      await slot();
      // A publish without a PubAck may or may not be stored: the same Nats-Msg-Id makes the retry one task.
      for (let attempt = 0; attempt < 60; attempt++) {
        try {
          await js.publish(Subjects.task('dev', agentId), codec.encode({ input: `__slow:${slowMs}__ ${key}` }), { headers: h, timeout: 5_000 });
          record.tasks.set(taskIdForKey('dev', key), 'nats');
          record.taskAckedAt.set(taskIdForKey('dev', key), new Date().toISOString());
          break;
        } catch {
          record.publishRetries++;
          await pause(500);
        }
      }
      completed++;
      await pause(paceMs);
    }
  });

  const sessionTurns = firstSessions.map(async (first, s) => {
    let session = first;
    const slot = rateSlots(share);
    for (let k = 0; running; k++) {
      if (opts.turnsPerSession && k > 0 && k % opts.turnsPerSession === 0) {
        const next = await openSession();
        if ('status' in next) record.failures.push({ what: `a new session for client ${s}`, reply: next });
        else session = next;
      }
      const content = k % 2 === 1 ? `__slow:${slowMs}__ ${opts.prefix} s${s} turn ${k}` : `${opts.prefix} s${s} turn ${k}`;
      const entry: SentTurn = { content };
      session.sent.push(entry);
      await slot();
      entry.reply = await api.post(`/v1/sessions/${session.id}/messages`, { content }, 120_000);
      completed++;
      if (entry.reply.status !== 200) record.failures.push({ what: `turn "${content}" of ${session.id}`, reply: entry.reply });
      await pause(paceMs);
    }
  });

  const invokes = Array.from({ length: opts.invokeClients ?? 1 }, async (_, w) => {
    const slot = rateSlots(share);
    for (let i = 0; running; i++) {
      await slot();
      const reply = await api.post(`/v1/agents/${agentId}/invoke`, { input: `${opts.prefix} invoke ${w}-${i}` }, 60_000);
      completed++;
      record.invokes.push(reply);
      if (reply.status !== 200) record.failures.push({ what: `invoke ${w}-${i}`, reply });
      await pause(paceMs);
    }
  });

  const all = [...httpTasks, ...natsTasks, ...sessionTurns, ...invokes];
  return {
    record,
    refusals: api.refusals,
    completed: () => completed,
    async stop() {
      running = false;
      await Promise.all(all);
      await readiness.stop();
    },
  };
}

/** Waits until the load has completed `n` more requests: the mesh serves again. */
export async function loadMoves(load: Load, what: string, n = 5, timeoutMs = 90_000): Promise<void> {
  const from = load.completed();
  await waitFor(() => (load.completed() >= from + n ? true : undefined), {
    description: `the load to complete ${n} more requests after ${what}`,
    timeoutMs,
    intervalMs: 100,
  });
  console.log(`# the load moves again after ${what} (${new Date().toISOString()})`);
}

/** How many results each of `taskIds` has on the results stream (the only record of "exactly once"). */
export async function resultCounts(nc: NatsConnection, agentId: string, taskIds: string[]): Promise<Map<string, number>> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(Streams.results.name, { subjects_filter: `keelson.results.dev.${agentId}.>` });
  const subjects = info.state.subjects ?? {};
  return new Map(taskIds.map((id) => [id, subjects[Subjects.result('dev', agentId, id)] ?? 0]));
}

export interface Findings {
  /** Acknowledged tasks without a result after the wait. */
  lost: string[];
  /** Tasks with more than one result. */
  doubled: string[];
  /** Tasks whose view is neither succeeded nor failed with a reason. */
  unfinished: string[];
  /** Session turns answered 200 that are not in the history exactly once, or out of order. */
  sessionFaults: string[];
}

/**
 * Checks the record against the mesh once the load has stopped: every acknowledged task has exactly one
 * result (waiting up to `resultWaitMs` for redeliveries) and ends; every turn answered 200 is in its session's
 * history once and in order; no content is in a history twice.
 */
export async function checkRecord(record: LoadRecord, nc: NatsConnection, bases: string[], resultWaitMs: number, agentId = 'assistant'): Promise<Findings> {
  const ids = [...record.tasks.keys()];
  const counts = await waitFor(
    async () => {
      const c = await resultCounts(nc, agentId, ids).catch(() => undefined);
      return c && [...c.values()].every((n) => n >= 1) ? c : undefined;
    },
    { description: `a result for each of ${ids.length} acknowledged tasks`, timeoutMs: resultWaitMs, intervalMs: 500 },
  ).catch(() => resultCounts(nc, agentId, ids));
  const doubled = ids.filter((id) => counts.get(id)! > 1).map((id) => `${id}: ${counts.get(id)}`);

  const api = gatewayClient(bases);
  const unfinished: string[] = [];
  /** What the gateway says of each task, so that a lost one says how far it got. */
  const seen = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 20) {
    const views = await Promise.all(ids.slice(i, i + 20).map(async (id) => [id, await api.get(`/v1/tasks/${id}`)] as const));
    for (const [id, v] of views) {
      seen.set(id, `${v.status} ${v.body?.status ?? JSON.stringify(v.body)?.slice(0, 200)}, attempts ${v.body?.attempts ?? '?'}${v.body?.error ? `, ${v.body.error.code}` : ''}`);
      const ok = v.status === 200 && (v.body.status === 'succeeded' || (v.body.status === 'failed' && v.body.error?.message));
      if (!ok) unfinished.push(`${id}: ${seen.get(id)}`);
    }
  }
  const lostIds = ids.filter((id) => counts.get(id) === 0);
  const where = lostIds.length ? await whereAreTheirMessages(nc, lostIds) : new Map<string, string>();
  const lost = lostIds.map((id) => `${id} (${record.tasks.get(id)}, acknowledged at ${record.taskAckedAt.get(id) ?? '?'}): view ${seen.get(id)}; ${where.get(id)}`);

  const sessionFaults: string[] = [];
  for (const session of record.sessions) {
    const view = await api.get(`/v1/sessions/${session.id}`);
    if (view.status !== 200) {
      sessionFaults.push(`${session.id}: view ${view.status} ${JSON.stringify(view.body)}`);
      continue;
    }
    const history: string[] = view.body.messages.filter((m: any) => m.role === 'user').map((m: any) => m.content);
    const answered = session.sent.filter((e) => e.reply?.status === 200).sort((a, b) => a.reply!.body.turn - b.reply!.body.turn);
    for (const e of answered) {
      const times = history.filter((c) => c === e.content).length;
      if (times !== 1) sessionFaults.push(`${session.id}: "${e.content}" answered 200 is in the history ${times} times`);
    }
    const positions = answered.map((e) => history.indexOf(e.content));
    if (positions.some((p, i) => i > 0 && p < positions[i - 1]!)) sessionFaults.push(`${session.id}: the history has the answered turns out of order`);
    const twice = [...new Set(history.filter((c, i) => history.indexOf(c) !== i))];
    for (const c of twice) sessionFaults.push(`${session.id}: "${c}" is in the history more than once`);
  }
  return { lost, doubled, unfinished, sessionFaults };
}

/** The task id a task message carries: in its body (the gateway's), or derived from its Nats-Msg-Id (a NATS publisher's). */
function taskIdOf(m: StoredMsg): string | undefined {
  try {
    const body = codec.decode(m.data) as { taskId?: string };
    if (typeof body?.taskId === 'string') return body.taskId;
  } catch {
    // not JSON: only the message id can say
  }
  const parsed = parseTaskMsgId(m.header?.get(Headers.msgId) ?? m.header?.get(Headers.deadLetterMsgId) ?? '');
  return parsed ? taskIdForKey(parsed.tenant, parsed.key) : undefined;
}

/**
 * For tasks without a result: is the message still queued (and where, against the task-worker consumer's
 * delivered and ack floor sequences), dead-lettered (with the reason), or gone? What a failure report needs
 * to tell a task never delivered from one stuck in a handler or given up on.
 */
async function whereAreTheirMessages(nc: NatsConnection, taskIds: string[]): Promise<Map<string, string>> {
  const wanted = new Set(taskIds);
  const found = new Map<string, string>();
  try {
    const jsm = await nc.jetstreamManager();
    const consumer = await jsm.consumers.info(Streams.tasks.name, Consumers.taskWorker.durable);
    const c = `consumer delivered ${consumer.delivered.stream_seq}, ack floor ${consumer.ack_floor.stream_seq}, ack pending ${consumer.num_ack_pending}, redelivered ${consumer.num_redelivered}, pending ${consumer.num_pending}`;
    const scan = async (stream: string, describe: (m: StoredMsg) => string) => {
      const { state } = await jsm.streams.info(stream);
      for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
        const m = await jsm.streams.getMessage(stream, { seq }).catch(() => undefined);
        const id = m && taskIdOf(m);
        if (m && id && wanted.has(id)) found.set(id, describe(m));
      }
    };
    await scan(Streams.tasks.name, (m) => `queued in ${Streams.tasks.name} at seq ${m.seq} (${c})`);
    await scan(Streams.deadLetters.name, (m) => `dead-lettered: ${m.header?.get(Headers.deadLetterReason)}`);
    for (const id of taskIds) if (!found.has(id)) found.set(id, `no message in ${Streams.tasks.name} or ${Streams.deadLetters.name} (${c})`);
  } catch (err) {
    for (const id of taskIds) found.set(id, `its message could not be looked for: ${(err as Error).message}`);
  }
  return found;
}

type StoredMsg = Awaited<ReturnType<Awaited<ReturnType<NatsConnection['jetstreamManager']>>['streams']['getMessage']>>;

/** One line for a test's log: how much went through and how much was refused or failed. */
export function summary(name: string, load: Load): string {
  const r = load.record;
  const turns = r.sessions.flatMap((s) => s.sent);
  const byKind = [...r.tasks.values()].reduce((m, k) => ({ ...m, [k]: (m[k] ?? 0) + 1 }), {} as Record<string, number>);
  return (
    `# ${name}: tasks acknowledged ${JSON.stringify(byKind)}, turns ${turns.filter((t) => t.reply?.status === 200).length}/${turns.length}, ` +
    `invokes ${r.invokes.filter((i) => i.status === 200).length}/${r.invokes.length}, refused before admission and retried ${load.refusals()}, ` +
    `publishes retried ${r.publishRetries}, admitted but failed ${r.failures.length}`
  );
}
