import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';

/** The repository root, from e2e/dist (compiled) or e2e/src. */
export const repoRoot = join(__dirname, '..', '..', '..');

/** `METHOD /path/{param}` of every route docs/api/openapi.json documents. */
export function openApiRoutes(root = repoRoot): string[] {
  const doc = JSON.parse(readFileSync(join(root, 'docs/api/openapi.json'), 'utf8')) as { paths: Record<string, Record<string, unknown>> };
  const methods = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((m) => methods.has(m))
      .map((m) => `${m.toUpperCase()} ${path}`),
  );
}

/**
 * `METHOD /path/{param}` of every route the gateway's controllers declare (`@Controller('v1/x')` and
 * `@Get(':id')`...), read from the source: a route added in code but not yet in openapi.json is found too.
 */
export function controllerRoutes(root = repoRoot): string[] {
  const dir = join(root, 'apps/gateway/src');
  const files: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(d, entry.name));
      else if (entry.name.endsWith('.controller.ts')) files.push(join(d, entry.name));
    }
  };
  walk(dir);
  const routes: string[] = [];
  for (const file of files) {
    // A file may hold several controllers: each route belongs to the @Controller above it.
    const source = readFileSync(file, 'utf8');
    const controllers = source.split(/(?=@Controller\()/).slice(1);
    for (const part of controllers) {
      const prefix = /^@Controller\(\s*'([^']*)'\s*\)/.exec(part)?.[1];
      if (prefix === undefined) continue;
      for (const m of part.matchAll(/@(Get|Post|Put|Delete|Patch)\(\s*(?:'([^']*)')?\s*\)/g)) {
        const path = ['', prefix, m[2] ?? ''].filter((p, i) => i === 0 || p !== '').join('/').replace(/:([A-Za-z0-9_]+)/g, '{$1}');
        routes.push(`${m[1]!.toUpperCase()} ${path}`);
      }
    }
  }
  return routes;
}

/** An upgrade to the session WebSocket: the HTTP status it was refused with, or 101. */
export function upgradeStatus(base: string, sessionId: string, key: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/v1/sessions/${sessionId}/ws`, { headers: { authorization: `Bearer ${key}` } });
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('error', reject);
  });
}
