import { strict as assert } from 'node:assert';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Module, type INestApplication } from '@nestjs/common';
import { bootstrapService } from '@keelson/nest-kit';
import { createLogger } from '@keelson/observability';
import { DashboardController } from './dashboard.controller';

@Module({ controllers: [DashboardController] })
class DashboardOnlyModule {}

/** The edge's security headers (helmet, in bootstrapService) and the dashboard's own CSP for its HTML. */
describe('dashboard headers behind the hardened HTTP edge', () => {
  let app: INestApplication;
  let base: string;

  before(async () => {
    app = await bootstrapService({
      name: 'dashboard-headers-test',
      module: DashboardOnlyModule,
      port: 0,
      host: '127.0.0.1',
      logger: createLogger({ service: 'dashboard-headers-test', level: 'error' }),
    });
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });
  after(() => app.close());

  it("keeps the dashboard page's own CSP (scripts and styles from 'self'), not the API's default-src 'none'", async () => {
    const res = await fetch(`${base}/dashboard`);
    assert.equal(res.status, 200, `expected the dashboard page, got ${res.status}: ${await res.clone().text()}`);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/, `the dashboard's CSP was replaced: ${csp}`);
    assert.doesNotMatch(csp, /default-src 'none'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('x-powered-by'), null);
  });

  it("answers a missing dashboard file with the standard error body and the API's strict CSP", async () => {
    const res = await fetch(`${base}/dashboard/nope.js`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'not_found');
    assert.equal(res.headers.get('content-security-policy'), "default-src 'none';frame-ancestors 'none'");
  });
});
