import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { baseServiceConfig } from '@keelson/config';
import { Readiness } from './readiness';

/**
 * The first step of a graceful shutdown (docs/operations.md "Rolling restarts"): /readyz turns 503 and the
 * service goes on working for SHUTDOWN_DRAIN_MS, so a load balancer stops sending it new connections before
 * it closes its listener. Without it, a connection that arrives as the listener closes is reset by the
 * kernel (it was still in the accept queue), and its client cannot tell whether the request was admitted.
 * Runs before the HTTP server closes and the consumers stop (Nest's beforeApplicationShutdown).
 */
@Injectable()
export class ShutdownDrain implements BeforeApplicationShutdown {
  constructor(
    @Inject(Readiness) private readonly readiness: Readiness,
    @Inject('SHUTDOWN_DRAIN_MS') private readonly drainMs: number,
  ) {}

  async beforeApplicationShutdown(): Promise<void> {
    this.readiness.drain();
    if (this.drainMs > 0) await new Promise((resolve) => setTimeout(resolve, this.drainMs));
  }
}

/** SHUTDOWN_DRAIN_MS from the environment, checked like the rest of the base configuration. */
export const shutdownDrainMs = () => baseServiceConfig.shape.SHUTDOWN_DRAIN_MS.parse(process.env['SHUTDOWN_DRAIN_MS']);
