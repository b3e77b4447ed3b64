import { z } from 'zod';
import { integer } from './fields';

const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'], { error: 'expected true or false' })
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');

/** The gateway's request classes (libs/nest-kit admission REQUEST_CLASSES; repeated here, config has no deps). */
const LANES = ['invoke', 'session', 'task', 'other'] as const;
export type AdmissionLaneName = (typeof LANES)[number];

/** A comma-separated subset of the lanes; `none` (or empty) is no lane. Unknown names are refused. */
const laneList = (fallback: AdmissionLaneName[]) =>
  z
    .string()
    .default(fallback.join(','))
    .transform((v) => v.split(',').map((name) => name.trim()).filter((name) => name && name !== 'none'))
    .refine((names) => names.every((name) => (LANES as readonly string[]).includes(name)), {
      error: `expected a comma-separated list of ${LANES.join(', ')} (or none)`,
    })
    .transform((names) => [...new Set(names)] as AdmissionLaneName[]);

/**
 * Admission control at the gateway (docs/operations.md, "Admission control and overload"): per request class
 * (stateless invokes, session turns, task submits, everything else), the most requests worked on at once,
 * the most waiting, and how long one may wait; past those a request is refused with 503 `overloaded` and
 * Retry-After before any work. The in-flight limits are ceilings. In the lanes named by ADMISSION_ADAPTIVE_LANES
 * (default `task` only) the limit in force follows the latency of admitted requests between
 * ADMISSION_MIN_IN_FLIGHT and the ceiling; the other lanes keep the ceiling, because their latency is mostly a
 * model's (an invoke or a turn), or may be (memory search with remote embeddings, a guard model), and a slow
 * model is not an overloaded gateway.
 */
export const admissionSettings = {
  /** Off admits everything, as before admission control existed. */
  ADMISSION_ENABLED: flag(true),
  /** Off keeps every lane at its ceiling, whatever ADMISSION_ADAPTIVE_LANES says. */
  ADMISSION_ADAPTIVE: flag(true),
  /** The lanes whose limit follows latency: only those whose latency is Keelson's own work. */
  ADMISSION_ADAPTIVE_LANES: laneList(['task']),
  ADMISSION_MIN_IN_FLIGHT: integer(4, 1, 10_000),
  ADMISSION_INVOKE_MAX_IN_FLIGHT: integer(256, 1, 100_000),
  ADMISSION_SESSION_MAX_IN_FLIGHT: integer(256, 1, 100_000),
  ADMISSION_TASK_MAX_IN_FLIGHT: integer(128, 1, 100_000),
  ADMISSION_OTHER_MAX_IN_FLIGHT: integer(128, 1, 100_000),
  /** Requests waiting for a slot, per class; one more is refused at once. */
  ADMISSION_MAX_QUEUE: integer(128, 0, 100_000),
  /** The longest a request waits for a slot; a queue whose oldest waiter is past half of it refuses newcomers. */
  ADMISSION_MAX_QUEUE_WAIT_MS: integer(200, 1, 60_000),
  /** Event-loop delay above which nothing more is queued (the process itself is saturated); 0 is off. */
  ADMISSION_MAX_EVENT_LOOP_DELAY_MS: integer(150, 0, 60_000),
};

export const admissionSettingsSchema = z.object(admissionSettings);
export type AdmissionSettings = z.infer<typeof admissionSettingsSchema>;
