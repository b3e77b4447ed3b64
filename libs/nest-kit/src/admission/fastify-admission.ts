import type { AdmissionSettings } from '@keelson/config';
import { ErrorCodes } from '@keelson/contracts';
import { metricsRegistry, type MetricsRegistry } from '@keelson/observability';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AdmissionControl, classifyRequest, EventLoopDelay, REQUEST_CLASSES, type RequestClass } from './admission-control';
import type { LaneSettings } from './admission-lane';

/** The lanes' settings from the configuration (libs/config admissionSettings). */
export function lanesFrom(settings: AdmissionSettings): Record<RequestClass, LaneSettings> {
  const lane = (name: RequestClass, maxInFlight: number): LaneSettings => ({
    maxInFlight,
    minInFlight: Math.min(settings.ADMISSION_MIN_IN_FLIGHT, maxInFlight),
    maxQueue: settings.ADMISSION_MAX_QUEUE,
    maxQueueWaitMs: settings.ADMISSION_MAX_QUEUE_WAIT_MS,
    // Only where latency is Keelson's own work (the default: task submits); see admission-lane.ts.
    adaptive: settings.ADMISSION_ADAPTIVE && settings.ADMISSION_ADAPTIVE_LANES.includes(name),
  });
  return {
    invoke: lane('invoke', settings.ADMISSION_INVOKE_MAX_IN_FLIGHT),
    session: lane('session', settings.ADMISSION_SESSION_MAX_IN_FLIGHT),
    task: lane('task', settings.ADMISSION_TASK_MAX_IN_FLIGHT),
    other: lane('other', settings.ADMISSION_OTHER_MAX_IN_FLIGHT),
  };
}

/**
 * Installs admission control as the first route-aware step of every request (an onRequest hook: before the
 * body is read, before auth, before any store is touched), so a shed request costs a header parse and a
 * small answer: 503 `overloaded` with Retry-After. The slot is given back when the response is done or the
 * client goes away (`close` on the raw response, which also covers hijacked event streams). Returns the
 * function that stops the event-loop probe (call it on shutdown).
 */
export function admitRequests(fastify: FastifyInstance, settings: AdmissionSettings, registry: MetricsRegistry = metricsRegistry()): () => void {
  if (!settings.ADMISSION_ENABLED) return () => undefined;
  const loop = new EventLoopDelay();
  const control = new AdmissionControl({
    lanes: lanesFrom(settings),
    maxEventLoopDelayMs: settings.ADMISSION_MAX_EVENT_LOOP_DELAY_MS,
    eventLoopDelayMs: () => loop.delayMs(),
  });
  const admitted = registry.counter('admissionAdmitted');
  const shed = registry.counter('admissionShed');
  const queueWait = registry.histogram('admissionQueueWait');
  const inFlight = registry.gauge('admissionInFlight');
  const queued = registry.gauge('admissionQueued');
  const limit = registry.gauge('admissionLimit');
  const loopDelay = registry.gauge('admissionEventLoopDelay');
  const stopCollecting = registry.onCollect(() => {
    const lanes = control.snapshot();
    for (const name of REQUEST_CLASSES) {
      inFlight.set({ class: name }, lanes[name].inFlight);
      queued.set({ class: name }, lanes[name].queued);
      limit.set({ class: name }, lanes[name].limit);
    }
    loopDelay.set({}, loop.delayMs() / 1_000);
  });

  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const requestClass = classifyRequest(request.method, request.routeOptions.url);
    if (!requestClass) return undefined;
    // The wait ends early when the client leaves: its slot must not be taken by a request nobody reads.
    const gone = new AbortController();
    const onClose = () => gone.abort();
    reply.raw.once('close', onClose);
    const admission = await control.admit(requestClass, gone.signal);
    reply.raw.off('close', onClose);
    if (admission.admitted) {
      if (reply.raw.destroyed) {
        admission.release();
        return undefined;
      }
      reply.raw.once('close', admission.release);
      admitted.inc({ class: requestClass });
      queueWait.observe({ class: requestClass }, admission.waitedMs / 1_000);
      return undefined;
    }
    shed.inc({ class: requestClass, reason: admission.reason });
    // A client that left gets the answer too: it goes nowhere, and the request ends the normal way.
    return reply
      .status(503)
      .header('retry-after', String(admission.retryAfterSeconds))
      .send({
        error: {
          code: ErrorCodes.overloaded,
          message: `the gateway is at capacity for ${requestClass} requests; retry after ${admission.retryAfterSeconds} s`,
        },
      });
  });

  return () => {
    loop.stop();
    stopCollecting();
  };
}
