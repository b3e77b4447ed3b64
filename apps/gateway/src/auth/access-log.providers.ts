import { Inject, type OnApplicationBootstrap, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import type { HttpSample } from '@keelson/nest-kit';
import type { Principal } from '@keelson/identity';
import { GatewayAudit } from '../auditing/gateway-audit';
import { AccessLog } from './access-log';

/** How often ended intervals are written: within 15 s of their end (sooner for short test intervals). */
const flushMsFor = (intervalMs: number) => Math.min(15_000, Math.max(250, intervalMs / 2));

/** Counts an answered request of an authenticated caller into the access log (bootstrap.ts). */
export function recordAccess(access: AccessLog, sample: HttpSample): void {
  const principal = (sample.request as { principal?: Principal }).principal;
  if (!principal) return;
  access.record({
    at: Date.now(),
    tenant: principal.tenant,
    keyId: principal.keyId,
    method: sample.request.method,
    route: sample.route,
    status: sample.status,
    source: sample.request.ip,
  });
}

/** Writes each ended minute of the access log to the audit trail, and what is left at shutdown. */
class AccessLogFlusher implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(AccessLog) private readonly access: AccessLog,
    @Inject(GatewayAudit) private readonly audit: GatewayAudit,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.flush(false), flushMsFor(this.access.intervalMs));
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush(true);
  }

  private async flush(all: boolean): Promise<void> {
    await Promise.all(this.access.drain(Date.now(), all).map((draft) => this.audit.noted(draft)));
  }
}

export function accessLogProviders(access: AccessLog): Provider[] {
  return [{ provide: AccessLog, useValue: access }, AccessLogFlusher];
}
