// The auto-instrumentations Keelson's services use, loaded one by one. The meta-package
// @opentelemetry/auto-instrumentations-node requires all of its ~40 instrumentations (and their helpers)
// at import: about 480 modules and 25 MB of resident memory per process for libraries no service loads.
// A debug run of the whole mesh (OTEL_LOG_LEVEL=debug, docs/benchmarks.md "Memory at rest") shows what is
// patched in practice: http/https, @redis/client and graphql (weaviate-ts-client); undici (global fetch:
// model providers, embeddings, OIDC keys, http_fetch) subscribes to diagnostics channels instead, and
// mongodb/mongoose patch audit-service's MongoDB store when MONGODB_URL is set.
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { redisStatement } from './redis-statement';

/** Name (as in OTEL_NODE_ENABLED_INSTRUMENTATIONS, without the package prefix) -> how to build it. */
const AVAILABLE: Record<string, () => Instrumentation> = {
  http: () => new (require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http')).HttpInstrumentation(),
  undici: () => new (require('@opentelemetry/instrumentation-undici') as typeof import('@opentelemetry/instrumentation-undici')).UndiciInstrumentation(),
  // The default writes every argument of EVALSHA, and our scripts take message text: keys only (see redisStatement).
  redis: () =>
    new (require('@opentelemetry/instrumentation-redis') as typeof import('@opentelemetry/instrumentation-redis')).RedisInstrumentation({
      dbStatementSerializer: redisStatement,
    }),
  mongodb: () => new (require('@opentelemetry/instrumentation-mongodb') as typeof import('@opentelemetry/instrumentation-mongodb')).MongoDBInstrumentation(),
  mongoose: () => new (require('@opentelemetry/instrumentation-mongoose') as typeof import('@opentelemetry/instrumentation-mongoose')).MongooseInstrumentation(),
  graphql: () => new (require('@opentelemetry/instrumentation-graphql') as typeof import('@opentelemetry/instrumentation-graphql')).GraphQLInstrumentation(),
};

// Left out on purpose, as before: fs, dns and net (one span per file read, lookup or socket drowns the spans
// that matter); winston (our logger's format adds trace_id/span_id itself); nestjs-core (a span per guard,
// pipe and handler cost the gateway about an eighth of its CPU per request, docs/benchmarks.md). The rest of
// the meta-package instruments libraries Keelson does not use (express, pg, kafkajs, aws-sdk, ...), and
// runtime-node and host-metrics only report metrics, which go to prom-client here.

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * The instrumentations to register. OTEL_NODE_ENABLED_INSTRUMENTATIONS and OTEL_NODE_DISABLED_INSTRUMENTATIONS
 * (comma-separated names such as `http,redis`) narrow the set as they did with the meta-package; a name
 * outside it is reported through `warn`, since it would instrument nothing.
 */
export function selectedInstrumentations(env: NodeJS.ProcessEnv = process.env, warn: (msg: string) => void = () => undefined): Instrumentation[] {
  const enabled = list(env['OTEL_NODE_ENABLED_INSTRUMENTATIONS']);
  const disabled = new Set(list(env['OTEL_NODE_DISABLED_INSTRUMENTATIONS']));
  for (const name of [...enabled, ...disabled]) {
    if (!(name in AVAILABLE)) warn(`instrumentation "${name}" is not one Keelson registers (${Object.keys(AVAILABLE).join(', ')})`);
  }
  return Object.keys(AVAILABLE)
    .filter((name) => (enabled.length === 0 || enabled.includes(name)) && !disabled.has(name))
    .map((name) => AVAILABLE[name]!());
}
