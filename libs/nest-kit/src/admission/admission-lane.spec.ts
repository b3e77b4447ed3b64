import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { AdmissionLane, type Admission, type LaneSettings, type Timers } from './admission-lane';
import { admissionSettingsSchema } from '@keelson/config';
import { AdmissionControl, classifyRequest } from './admission-control';
import { lanesFrom } from './fastify-admission';

/** A clock and timers the test moves by hand: every decision below is deterministic. */
class FakeTime implements Timers {
  now = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  readonly clock = () => this.now;
  set(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { at: this.now + ms, fn });
    return id;
  }
  clear(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  advance(ms: number): void {
    this.now += ms;
    for (const [id, timer] of [...this.timers].sort((a, b) => a[1].at - b[1].at)) {
      if (timer.at > this.now) continue;
      this.timers.delete(id);
      timer.fn();
    }
  }
}

const fixed = (overrides: Partial<LaneSettings> = {}): LaneSettings => ({
  maxInFlight: 2,
  minInFlight: 1,
  maxQueue: 2,
  maxQueueWaitMs: 100,
  adaptive: false,
  ...overrides,
});

function granted(admission: Admission | Promise<Admission>): Extract<Admission, { admitted: true }> {
  assert.ok(!(admission instanceof Promise), 'expected an answer at once, got a wait');
  assert.ok(admission.admitted, `expected admitted, got shed (${admission.admitted ? '' : admission.reason})`);
  return admission;
}

function refused(admission: Admission | Promise<Admission>): Extract<Admission, { admitted: false }> {
  assert.ok(!(admission instanceof Promise), 'expected an answer at once, got a wait');
  assert.ok(!admission.admitted, 'expected shed, got admitted');
  return admission;
}

describe('AdmissionLane', () => {
  it('admits up to the limit at once, queues the next ones and hands them a slot in order as slots free', async () => {
    const time = new FakeTime();
    const lane = new AdmissionLane(fixed(), time.clock, time);
    const a = granted(lane.admit());
    granted(lane.admit());
    const third = lane.admit();
    const fourth = lane.admit();
    assert.ok(third instanceof Promise && fourth instanceof Promise);
    assert.deepEqual(lane.snapshot(), { limit: 2, inFlight: 2, queued: 2 });
    time.advance(10);
    a.release();
    a.release(); // a second release gives nothing back twice
    const thirdAnswer = await third;
    assert.ok(thirdAnswer.admitted);
    assert.equal(thirdAnswer.waitedMs, 10);
    assert.deepEqual(lane.snapshot(), { limit: 2, inFlight: 2, queued: 1 });
  });

  it('sheds at once when the queue is full, with a Retry-After of at least 1 s', () => {
    const time = new FakeTime();
    const lane = new AdmissionLane(fixed({ maxQueue: 1 }), time.clock, time);
    granted(lane.admit());
    granted(lane.admit());
    void lane.admit();
    const shed = refused(lane.admit());
    assert.equal(shed.reason, 'queue_full');
    assert.ok(shed.retryAfterSeconds >= 1);
  });

  it('sheds a waiter when it waited the maximum, and gives its place to nobody', async () => {
    const time = new FakeTime();
    const lane = new AdmissionLane(fixed(), time.clock, time);
    granted(lane.admit());
    granted(lane.admit());
    const waiting = lane.admit();
    time.advance(100);
    const answer = await waiting;
    assert.equal(answer.admitted, false);
    assert.equal(!answer.admitted && answer.reason, 'queue_timeout');
    assert.equal(lane.snapshot().queued, 0);
  });

  it('refuses newcomers at once while the queue is standing (its oldest waiter is past half the maximum wait)', () => {
    const time = new FakeTime();
    const lane = new AdmissionLane(fixed({ maxQueue: 10 }), time.clock, time);
    granted(lane.admit());
    granted(lane.admit());
    void lane.admit();
    time.advance(49);
    assert.ok(lane.admit() instanceof Promise, 'a young queue still takes waiters');
    time.advance(1);
    assert.equal(refused(lane.admit()).reason, 'standing_queue');
  });

  it('queues nothing while the process is busy, but still admits into a free slot', () => {
    const time = new FakeTime();
    const lane = new AdmissionLane(fixed(), time.clock, time);
    granted(lane.admit({ busy: true }));
    granted(lane.admit({ busy: true }));
    assert.equal(refused(lane.admit({ busy: true })).reason, 'event_loop');
  });

  it('drops a waiter whose client left, so its slot goes to the next one', async () => {
    const time = new FakeTime();
    const lane = new AdmissionLane(fixed({ maxInFlight: 1 }), time.clock, time);
    const first = granted(lane.admit());
    const gone = new AbortController();
    const leaving = lane.admit({ signal: gone.signal });
    const staying = lane.admit();
    gone.abort();
    const left = await leaving;
    assert.equal(!left.admitted && left.reason, 'client_gone');
    first.release();
    assert.equal((await staying).admitted, true);
  });

  it('adaptive: under overload the limit settles where latency is about 1.5 x the unloaded one, and holds after it', () => {
    const time = new FakeTime();
    // No queue: what the lane does not admit is shed, so every admitted request is released by the loop below.
    const lane = new AdmissionLane(fixed({ maxInFlight: 256, minInFlight: 4, maxQueue: 0, adaptive: true }), time.clock, time);
    /**
     * `arrivalsPerMs` requests arrive each ms for `ms` ms at a service that does 3.2 requests per ms at best:
     * up to 32 at once take 10 ms each, more at once take proportionally longer (they share the CPU).
     */
    const running: { until: number; admission: Extract<Admission, { admitted: true }> }[] = [];
    const run = (ms: number, arrivalsPerMs: number) => {
      for (let t = 0; t < ms; t++) {
        time.advance(1);
        for (let i = running.length - 1; i >= 0; i--) {
          if (running[i]!.until > time.now) continue;
          running[i]!.admission.release();
          running.splice(i, 1);
        }
        for (let i = 0; i < arrivalsPerMs; i++) {
          const admission = lane.admit();
          if (admission instanceof Promise || !admission.admitted) continue;
          running.push({ until: time.now + Math.max(10, running.length / 3.2), admission });
        }
      }
    };
    run(2_000, 2); // normal load, under the knee
    assert.equal(lane.limit, 256);
    run(10_000, 8); // 2.5 x capacity: 256 at once would take 8 x the normal latency
    // Tolerance 1.5: the limit settles near where latency is 1.5 x the unloaded one (48 at once here).
    assert.ok(lane.limit <= 64, `expected the limit to come down to about 1.5 x the knee (48), got ${lane.limit}`);
    assert.ok(lane.limit >= 4);
    const low = lane.limit;
    run(5_000, 2); // back under the knee: the limit holds, within rounding (it only grows while the lane is full)
    assert.ok(lane.limit >= low * 0.9, `expected the limit to hold near ${low}, got ${lane.limit}`);
    run(5_000, 8); // and a second overload finds the same limit
    assert.ok(lane.limit <= 64, `expected the limit to stay near 48 under a second overload, got ${lane.limit}`);
  });
});

describe('classifyRequest', () => {
  it('puts invokes, session turns and task submits in their own classes, and never limits probes or event streams', () => {
    assert.equal(classifyRequest('POST', '/v1/agents/:agentId/invoke'), 'invoke');
    assert.equal(classifyRequest('POST', '/v1/chat/completions'), 'invoke');
    assert.equal(classifyRequest('POST', '/v1/sessions/:sessionId/messages'), 'session');
    assert.equal(classifyRequest('POST', '/v1/tasks'), 'task');
    assert.equal(classifyRequest('GET', '/v1/tasks/:taskId'), 'other');
    assert.equal(classifyRequest('GET', '/v1/tasks/:taskId/events'), undefined);
    assert.equal(classifyRequest('GET', '/readyz'), undefined);
    assert.equal(classifyRequest('GET', '/metrics'), undefined);
    assert.equal(classifyRequest('GET', undefined), undefined);
  });
});

describe('AdmissionControl', () => {
  it('keeps each class in its own lane and judges busy by the event-loop delay it is given', () => {
    const time = new FakeTime();
    let delay = 0;
    const lane = fixed({ maxInFlight: 1 });
    const control = new AdmissionControl({
      lanes: { invoke: lane, session: lane, task: lane, other: lane },
      maxEventLoopDelayMs: 100,
      eventLoopDelayMs: () => delay,
      clock: time.clock,
      timers: time,
    });
    granted(control.admit('invoke'));
    granted(control.admit('task')); // a full invoke lane leaves the task lane alone
    assert.ok(control.admit('invoke') instanceof Promise);
    delay = 150;
    assert.equal(refused(control.admit('invoke')).reason, 'event_loop');
    assert.deepEqual(control.snapshot().invoke, { limit: 1, inFlight: 1, queued: 1 });
  });
});

/**
 * `users` clients in a closed loop (each sends its next request when the last is answered or refused), whose
 * requests take in turn 10 ms and 5 s: a model that is fast on one prompt and slow on the next. Returns how
 * many requests were refused; the clock moves 1 ms a step.
 */
function slowModelTraffic(lane: AdmissionLane, time: FakeTime, users: number, ms: number): number {
  const running: { until: number; admission: Extract<Admission, { admitted: true }> }[] = [];
  let sent = 0;
  let refusals = 0;
  const send = () => {
    const admission = lane.admit();
    if (admission instanceof Promise || !admission.admitted) {
      refusals++;
      return;
    }
    running.push({ until: time.now + (sent++ % 2 === 0 ? 10 : 5_000), admission });
  };
  for (let i = 0; i < users; i++) send();
  for (let t = 0; t < ms; t++) {
    time.advance(1);
    for (let i = running.length - 1; i >= 0; i--) {
      if (running[i]!.until > time.now) continue;
      running[i]!.admission.release();
      running.splice(i, 1);
      send();
    }
  }
  for (const r of running) r.admission.release();
  return refusals;
}

describe('AdmissionLane and a slow model', () => {
  it('adaptive: requests alternating 10 ms and 5 s at low concurrency never shrink the limit; the 5th, 10th and 50th at once are admitted', () => {
    const time = new FakeTime();
    const lane = new AdmissionLane(fixed({ maxInFlight: 256, minInFlight: 4, maxQueue: 0, adaptive: true }), time.clock, time);
    // Fast requests first, so the baseline the lane learns is 10 ms, then the slow model: 50 x and 500 x the baseline.
    for (let i = 0; i < 64; i++) {
      const a = granted(lane.admit());
      time.advance(10);
      a.release();
    }
    assert.equal(slowModelTraffic(lane, time, 8, 600_000), 0, 'no request of 8 users refused');
    assert.equal(lane.limit, 256);
    const held = Array.from({ length: 50 }, () => granted(lane.admit()));
    assert.equal(lane.snapshot().inFlight, 50);
    for (const a of held) a.release();
  });

  it('the defaults leave invoke and session at their ceiling: 200 users of a slow model are all admitted', () => {
    const lanes = lanesFrom(admissionSettingsSchema.parse({}));
    assert.equal(lanes.invoke.adaptive, false);
    assert.equal(lanes.session.adaptive, false);
    assert.equal(lanes.task.adaptive, true);
    assert.equal(lanes.other.adaptive, false);
    const time = new FakeTime();
    const lane = new AdmissionLane(lanes.invoke, time.clock, time);
    assert.equal(slowModelTraffic(lane, time, 200, 120_000), 0);
    assert.equal(lane.limit, lanes.invoke.maxInFlight);
  });

  it('why they are not adaptive: once users fill the lane, an adaptive lane reads the slow model as overload and shrinks', () => {
    const time = new FakeTime();
    const lane = new AdmissionLane(fixed({ maxInFlight: 256, minInFlight: 4, maxQueue: 0, adaptive: true }), time.clock, time);
    for (let i = 0; i < 64; i++) {
      const a = granted(lane.admit());
      time.advance(10);
      a.release();
    }
    // 300 users at a ceiling of 256: the lane is full, so every window counts, and latency 50-500 x the baseline reads as queueing.
    assert.ok(slowModelTraffic(lane, time, 300, 120_000) > 44);
    assert.ok(lane.limit < 230, `expected the limit to have shrunk below its ceiling, got ${lane.limit}`);
  });

  it('a lane at its ceiling still sheds under real overload: past its slots and a standing queue, newcomers are refused', () => {
    const lanes = lanesFrom(admissionSettingsSchema.parse({}));
    const time = new FakeTime();
    const lane = new AdmissionLane(lanes.invoke, time.clock, time);
    // A service that finishes 1 request per ms at most, offered 2 per ms for 5 s.
    const running: Extract<Admission, { admitted: true }>[] = [];
    const reasons = new Map<string, number>();
    let admitted = 0;
    for (let t = 0; t < 5_000; t++) {
      time.advance(1);
      running.shift()?.release();
      for (let i = 0; i < 2; i++) {
        const admission = lane.admit();
        if (admission instanceof Promise) {
          void admission.then((a) => (a.admitted ? running.push(a) : reasons.set(a.reason, (reasons.get(a.reason) ?? 0) + 1)));
          continue;
        }
        if (admission.admitted) {
          admitted++;
          running.push(admission);
        } else reasons.set(admission.reason, (reasons.get(admission.reason) ?? 0) + 1);
      }
    }
    assert.ok((reasons.get('standing_queue') ?? 0) + (reasons.get('queue_full') ?? 0) > 1_000, `expected most of the excess shed, got ${JSON.stringify([...reasons])}`);
    assert.ok(lane.snapshot().queued <= lanes.invoke.maxQueue);
    assert.ok(admitted > 0);
  });
});
