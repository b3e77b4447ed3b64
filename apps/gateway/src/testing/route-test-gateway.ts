import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Module, type INestApplication, type Provider, type Type } from '@nestjs/common';
import { parseRateLimitSettings } from '@keelson/cost';
import { InfraModule, bootstrapService } from '@keelson/nest-kit';
import { createLogger } from '@keelson/observability';
import { hashApiKey } from '../auth/api-keys';
import { rateLimitProviders } from '../cost/cost.providers';
import { testAuthProviders } from './test-auth';

export interface RouteTestGateway {
  base: string;
  /** JSON over HTTP as the key's tenant (the first key unless `key` says otherwise; `null` sends none). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test bodies are read field by field
  call(path: string, init?: RequestInit & { key?: string | null }): Promise<{ status: number; headers: Headers; body: any }>;
  post(path: string, body: unknown, key?: string): ReturnType<RouteTestGateway['call']>;
  close(): Promise<void>;
}

/**
 * For int tests of one group of gateway routes: those controllers mounted with the gateway's own bootstrap,
 * AuthGuard (over a keys file of `keys`, each `tenant -> key`) and rate-limit guard, on `port`, over `natsUrl`,
 * without the rest of GatewayModule. Test support only: nothing in the running gateway uses it.
 */
export async function startRouteTestGateway(opts: {
  name: string;
  natsUrl: string;
  port: number;
  controllers: Type<unknown>[];
  providers: Provider[];
  keys: Record<string, string>;
  /** Scopes of a tenant's key; every scope (`*`) when a tenant is not named. */
  scopes?: Record<string, string[]>;
}): Promise<RouteTestGateway> {
  const dir = mkdtempSync(join(tmpdir(), `keelson-${opts.name}-`));
  const keysFile = join(dir, 'api-keys.json');
  const keys = Object.entries(opts.keys).map(([tenant, key]) => ({ id: `key-${tenant}`, tenant, sha256: hashApiKey(key), scopes: opts.scopes?.[tenant] ?? ['*'] }));
  writeFileSync(keysFile, JSON.stringify({ keys }));
  const logger = createLogger({ service: opts.name, level: 'error' });
  @Module({
    imports: [InfraModule.forRoot({ serviceName: opts.name, natsUrl: opts.natsUrl, streams: [], logger })],
    controllers: opts.controllers,
    providers: [...testAuthProviders(keysFile), ...opts.providers, ...rateLimitProviders(parseRateLimitSettings({}))],
  })
  class RouteTestModule {}
  const app: INestApplication = await bootstrapService({ name: opts.name, module: RouteTestModule, port: opts.port, host: '127.0.0.1', logger });
  const base = `http://127.0.0.1:${opts.port}`;
  const defaultKey = Object.values(opts.keys)[0]!;

  const call: RouteTestGateway['call'] = async (path, init = {}) => {
    const headers = new Headers(init.headers);
    if (init.key !== null) headers.set('authorization', `Bearer ${init.key ?? defaultKey}`);
    if (typeof init.body === 'string') headers.set('content-type', 'application/json');
    const res = await fetch(`${base}${path}`, { ...init, headers });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };
  return {
    base,
    call,
    post: (path, body, key) => call(path, { method: 'POST', body: JSON.stringify(body), ...(key ? { key } : {}) }),
    async close() {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
