// The OpenTelemetry SDK set-up. Loading this file pulls in the SDK and every auto-instrumentation (about
// 0.7 s), so index.ts reaches it lazily and apps reach it through register.ts, before anything else loads.
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { NoopSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { redisStatement } from './redis-statement';
import { registerTracingShutdown } from './tracing-shutdown';

export interface TracingOptions {
  serviceName: string;
  /** Base URL of an OTLP/HTTP collector, e.g. `http://collector:4318`. Without it nothing is exported. */
  otlpEndpoint?: string;
  /** Share of new (parentless) traces to sample, 0..1; default 1. Children follow their parent. */
  sampleRatio?: number;
}

export interface Tracing {
  /** Flushes buffered spans and removes the SDK's hooks; call it while the app shuts down. */
  shutdown(): Promise<void>;
}

export function startTracing(opts: TracingOptions): Tracing {
  const ratio = opts.sampleRatio ?? 1;
  if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`sampleRatio must be between 0 and 1, got ${ratio}`);

  const sdk = new NodeSDK({
    serviceName: opts.serviceName,
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }),
    textMapPropagator: new W3CTraceContextPropagator(),
    // NodeSDK registers no tracer at all without a span processor, and then there are no trace ids for the
    // logs; a no-op processor keeps real contexts flowing while exporting nothing.
    ...(opts.otlpEndpoint
      ? { traceExporter: new OTLPTraceExporter({ url: `${opts.otlpEndpoint.replace(/\/+$/, '')}/v1/traces` }) }
      : { spanProcessors: [new NoopSpanProcessor()] }),
    // Traces only: left unset, NodeSDK would also start OTLP metric and log exporters aimed at localhost.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      getNodeAutoInstrumentations({
        // One span per file read, DNS lookup or socket drowns the spans that matter.
        '@opentelemetry/instrumentation-fs': { enabled: false },
        '@opentelemetry/instrumentation-dns': { enabled: false },
        '@opentelemetry/instrumentation-net': { enabled: false },
        // Our logger's own format adds trace_id/span_id; the instrumentation would add them twice and
        // bridge every line into the (unused) OTel logs pipeline.
        '@opentelemetry/instrumentation-winston': { enabled: false },
        // A span per Nest guard, pipe and handler under the HTTP span says little and cost the gateway about
        // an eighth of its CPU per request in the benchmark (docs/benchmarks.md).
        '@opentelemetry/instrumentation-nestjs-core': { enabled: false },
        // The default writes every argument of EVALSHA, and our scripts take message text: keys only (see redisStatement).
        '@opentelemetry/instrumentation-redis': { dbStatementSerializer: redisStatement },
      }),
    ],
  });
  sdk.start();
  const shutdown = () => sdk.shutdown();
  registerTracingShutdown(shutdown);
  return { shutdown };
}
