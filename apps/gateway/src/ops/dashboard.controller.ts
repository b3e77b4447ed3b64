import { Controller, Get, Param, Res } from '@nestjs/common';
import { ErrorCodes, KeelsonError } from '@keelson/contracts';
import type { FastifyReply } from 'fastify';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';

/** The page's files (apps/gateway/dashboard), next to dist/ in the repository and in the image. */
export const DASHBOARD_DIR = join(__dirname, '..', '..', 'dashboard');
const CHART_JS = join(dirname(require.resolve('chart.js')), 'chart.umd.min.js');
const FILE_NAME = /^[a-z0-9][a-z0-9-]{0,63}\.(html|js|css|svg)$/;
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};
// Everything from this origin; no inline script or style, no frames: the page shows tenants' data.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/**
 * `GET /dashboard`: the operator dashboard's static files, public because they hold no data; every number
 * on the page comes from `/v1/ops/*` with the operator's key (scope ops:read).
 */
@Controller('dashboard')
export class DashboardController {
  @Get()
  index(@Res() reply: FastifyReply): Promise<void> {
    return this.send(reply, join(DASHBOARD_DIR, 'index.html'));
  }

  @Get('vendor/chart.umd.js')
  chart(@Res() reply: FastifyReply): Promise<void> {
    return this.send(reply, CHART_JS);
  }

  @Get(':file')
  file(@Param('file') file: string, @Res() reply: FastifyReply): Promise<void> {
    if (!FILE_NAME.test(file)) throw new KeelsonError(404, ErrorCodes.notFound, `no dashboard file "${file}"`, 'file');
    return this.send(reply, join(DASHBOARD_DIR, file));
  }

  private async send(reply: FastifyReply, path: string): Promise<void> {
    let body: Buffer;
    try {
      body = await readFile(path);
    } catch {
      throw new KeelsonError(404, ErrorCodes.notFound, `no dashboard file "${path.split('/').at(-1)}"`, 'file');
    }
    await reply
      .header('content-type', TYPES[extname(path)] ?? 'application/octet-stream')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache')
      .send(body);
  }
}
