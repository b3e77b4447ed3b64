import { AdmissionLane, systemTimers, type Admission, type Clock, type LaneSettings, type LaneSnapshot, type Timers } from './admission-lane';

/**
 * The classes of gateway requests admitted separately, so a flood of one (stateless invokes) cannot take the
 * slots of another (session turns, task submits, reads and control calls).
 */
export const REQUEST_CLASSES = ['invoke', 'session', 'task', 'other'] as const;
export type RequestClass = (typeof REQUEST_CLASSES)[number];

/** Probes and scrapes: the platform must see an overloaded process, so they are never shed. */
const EXEMPT_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The class of a request by method and route TEMPLATE, or undefined when it is not limited: probes, routes
 * that matched nothing (a cheap 404), and event streams a client keeps open (they hold a socket, not work).
 */
export function classifyRequest(method: string, route: string | undefined): RequestClass | undefined {
  if (!route || EXEMPT_ROUTES.has(route) || route.startsWith('/dashboard')) return undefined;
  if (method === 'GET' && route.endsWith('/events')) return undefined;
  if (method === 'POST') {
    if (route === '/v1/agents/:agentId/invoke' || route === '/v1/chat/completions') return 'invoke';
    if (route === '/v1/sessions' || route === '/v1/sessions/:sessionId/messages') return 'session';
    if (route === '/v1/tasks') return 'task';
  }
  return 'other';
}

export interface AdmissionOptions {
  lanes: Record<RequestClass, LaneSettings>;
  /** Above this event-loop delay the process is saturated: nothing more waits in a queue. 0 turns it off. */
  maxEventLoopDelayMs: number;
  /** The process's recent event-loop delay in ms (EventLoopDelay below); default: never busy. */
  eventLoopDelayMs?: () => number;
  clock?: Clock;
  timers?: Timers;
}

/** One lane per request class, and the process-wide event-loop check. */
export class AdmissionControl {
  private readonly lanes: Record<RequestClass, AdmissionLane>;

  constructor(private readonly options: AdmissionOptions) {
    const clock = options.clock ?? (() => performance.now());
    const timers = options.timers ?? systemTimers;
    this.lanes = Object.fromEntries(REQUEST_CLASSES.map((name) => [name, new AdmissionLane(options.lanes[name], clock, timers)])) as Record<
      RequestClass,
      AdmissionLane
    >;
  }

  admit(requestClass: RequestClass, signal?: AbortSignal): Admission | Promise<Admission> {
    const threshold = this.options.maxEventLoopDelayMs;
    const busy = threshold > 0 && (this.options.eventLoopDelayMs?.() ?? 0) > threshold;
    return this.lanes[requestClass].admit({ busy, ...(signal ? { signal } : {}) });
  }

  snapshot(): Record<RequestClass, LaneSnapshot> {
    return Object.fromEntries(REQUEST_CLASSES.map((name) => [name, this.lanes[name].snapshot()])) as Record<RequestClass, LaneSnapshot>;
  }
}

/**
 * The event loop's recent delay: a timer asks to run every `intervalMs` and measures how late it ran. The
 * value is the larger of the last lateness and a decaying average, so one long stall shows at once and a
 * steady lag shows as a level. The timer is unref'd: it never keeps the process alive.
 */
export class EventLoopDelay {
  private lastMs = 0;
  private averageMs = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 20) {
    let expected = performance.now() + intervalMs;
    this.timer = setInterval(() => {
      const now = performance.now();
      this.lastMs = Math.max(0, now - expected);
      this.averageMs += (this.lastMs - this.averageMs) / 8;
      expected = now + intervalMs;
    }, intervalMs);
    this.timer.unref();
  }

  delayMs(): number {
    return Math.max(this.lastMs, this.averageMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
