// A closed-loop HTTP load generator on node:http with a keep-alive Agent: `concurrency` clients, each
// sending its next request as soon as the previous answer is read. No dependency beyond node itself.
import http from 'node:http';
import { now } from './stats.mjs';

/**
 * POSTs JSON bodies to `url` until `durationMs` has passed or `maxRequests` were sent (whichever first).
 * `body(i)` builds the i-th body. `onAccepted(i, json, tStart, tEnd)` runs for each 202 with the parsed
 * answer when `parse` is true. Latencies of 202 answers (or `okStatus`) are collected in ms.
 */
export async function postLoad({ url, headers, concurrency, durationMs = Infinity, maxRequests = Infinity, body, parse = false, onAccepted, okStatus = 202 }) {
  if (!Number.isFinite(durationMs) && !Number.isFinite(maxRequests)) throw new Error('postLoad: bound it by duration or by count');
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const latencies = [];
  const statuses = {};
  const errors = {};
  let sent = 0;
  let accepted = 0;
  let lastAcceptedAt = 0;
  const t0 = now();
  const deadline = t0 + durationMs;

  const one = (i) =>
    new Promise((resolve) => {
      const payload = Buffer.from(JSON.stringify(body(i)));
      const tStart = now();
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
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const tEnd = now();
            statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
            if (res.statusCode === okStatus) {
              accepted++;
              lastAcceptedAt = tEnd;
              latencies.push(tEnd - tStart);
              if (onAccepted) onAccepted(i, parse ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined, tStart, tEnd);
            }
            resolve();
          });
          res.on('error', (err) => {
            errors[err.code ?? err.message] = (errors[err.code ?? err.message] ?? 0) + 1;
            resolve();
          });
        },
      );
      req.on('error', (err) => {
        errors[err.code ?? err.message] = (errors[err.code ?? err.message] ?? 0) + 1;
        resolve();
      });
      req.setTimeout(30_000, () => req.destroy(new Error('request timeout')));
      req.end(payload);
    });

  const client = async () => {
    while (sent < maxRequests && now() < deadline) {
      const i = sent++;
      await one(i);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const elapsedMs = now() - t0;
  agent.destroy();
  return { sent, accepted, elapsedMs, firstSentAt: t0, lastAcceptedAt, latencies, statuses, errors };
}
