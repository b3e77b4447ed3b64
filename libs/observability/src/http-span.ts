import { trace } from '@opentelemetry/api';

/**
 * Names the active HTTP server span `{method} {route template}` and sets http.route, as the HTTP semantic
 * conventions ask: the http instrumentation alone only knows the method, so every gateway span read "GET".
 * The template, never the raw URL, keeps span names few (no ids in them).
 */
export function nameHttpServerSpan(method: string, route: string): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  span.updateName(`${method} ${route}`);
  span.setAttribute('http.route', route);
}
