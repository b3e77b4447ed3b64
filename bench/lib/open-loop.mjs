// An open-loop (fixed-rate) load generator: request i is due at t0 + i / rate and is sent then, whether or not
// earlier requests have answered, so a slow answer cannot hold back the next request (no coordinated
// omission). Latency is taken from the time a request was due, not from when the loop got round to it; the
// loop's own lateness is reported apart, so a saturated load generator shows up instead of hiding.
import http from 'node:http';
import { now } from './stats.mjs';

/**
 * Calls `send(i)` at `ratePerSec` for `durationMs`; `send` resolves to true for a good answer. Waits for
 * every call it started (each must bound itself). Returns latencies of good answers in ms, from due time.
 */
export async function openLoop({ ratePerSec, durationMs, send }) {
  const total = Math.round((ratePerSec * durationMs) / 1000);
  const intervalMs = 1000 / ratePerSec;
  const latencies = [];
  const lateness = [];
  const pending = [];
  let ok = 0;
  let failed = 0;
  const t0 = now();
  for (let i = 0; i < total; i++) {
    const due = t0 + i * intervalMs;
    const wait = due - now();
    // setTimeout rounds to whole milliseconds; requests that fall due while it sleeps go out together.
    if (wait >= 1) await new Promise((r) => setTimeout(r, Math.floor(wait)));
    lateness.push(Math.max(0, now() - due));
    pending.push(
      Promise.resolve()
        .then(() => send(i))
        .then(
          (good) => {
            if (good) {
              ok++;
              latencies.push(now() - due);
            } else failed++;
          },
          () => failed++,
        ),
    );
  }
  await Promise.all(pending);
  return { sent: total, ok, failed, elapsedMs: now() - t0, latencies, lateness };
}

/**
 * A POST-JSON function over a keep-alive agent with room for every request in flight (an open loop must not
 * queue in the client): resolves to the status code (0 on a socket error or after `timeoutMs`).
 */
export function jsonPoster(url, headers = {}, { maxSockets = 512, timeoutMs = 30_000 } = {}) {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  const statuses = {};
  const post = (body) =>
    new Promise((resolve) => {
      const payload = Buffer.from(JSON.stringify(body));
      const done = (status) => {
        statuses[status] = (statuses[status] ?? 0) + 1;
        resolve(status);
      };
      const req = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json', 'content-length': payload.length },
        },
        (res) => {
          res.on('data', () => undefined);
          res.on('end', () => done(res.statusCode));
          res.on('error', () => done(0));
        },
      );
      req.on('error', () => done(0));
      req.setTimeout(timeoutMs, () => req.destroy(new Error('request timeout')));
      req.end(payload);
    });
  return { post, statuses, close: () => agent.destroy() };
}
