import type { HttpSample } from '@keelson/nest-kit';
import type { TrafficWindow } from './traffic-window';

/** Routes that are the platform looking at itself, not traffic: the dashboard, its data, probes and scrapes. */
const SELF = /^\/(dashboard|metrics|healthz|readyz|v1\/ops)(\/|$)/;

/** Feeds an answered request into the dashboard's traffic window, with the tenant AuthGuard found. */
export function recordTraffic(traffic: TrafficWindow, sample: HttpSample): void {
  if (SELF.test(sample.route)) return;
  const tenant = (sample.request as { principal?: { tenant?: string } }).principal?.tenant;
  traffic.record({ at: Date.now(), tenant, executionModel: sample.executionModel, status: sample.status, durationMs: sample.durationMs });
}
