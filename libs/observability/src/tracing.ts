// The OpenTelemetry set-up: a tracer provider, W3C propagation, async-local context and the instrumentations
// of instrumentations.ts. index.ts reaches it lazily and apps through register.ts, before anything else loads.
//
// This wires the trace SDK by hand instead of using @opentelemetry/sdk-node's NodeSDK: NodeSDK requires every
// exporter (OTLP over gRPC, proto and JSON for traces, metrics and logs, Zipkin, Prometheus), the metrics and
// logs SDKs and the declarative-configuration parser at import, about 2,000 modules and 50 MB resident per
// process, though Keelson exports traces only (docs/benchmarks.md "Memory at rest"). What NodeSDK did with our
// options is kept: OTEL_SDK_DISABLED, OTEL_LOG_LEVEL, the env/process/host resource detectors (or
// OTEL_NODE_RESOURCE_DETECTORS), span limits and batch settings from OTEL_SPAN_* / OTEL_BSP_*.
import { context, diag, DiagConsoleLogger, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { diagLogLevelFromString, getBooleanFromEnv, getNumberFromEnv, getStringFromEnv, getStringListFromEnv, W3CTraceContextPropagator } from '@opentelemetry/core';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import {
  defaultResource,
  detectResources,
  envDetector,
  hostDetector,
  osDetector,
  processDetector,
  resourceFromAttributes,
  serviceInstanceIdDetector,
  type ResourceDetector,
} from '@opentelemetry/resources';
import { BatchSpanProcessor, NoopSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { selectedInstrumentations } from './instrumentations';
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

/** The detectors OTEL_NODE_RESOURCE_DETECTORS may name; unset means env, process and host, as NodeSDK did. */
const DETECTORS: Record<string, ResourceDetector> = {
  env: envDetector,
  host: hostDetector,
  os: osDetector,
  process: processDetector,
  serviceinstance: serviceInstanceIdDetector,
};

function resourceDetectors(): ResourceDetector[] {
  const names = getStringListFromEnv('OTEL_NODE_RESOURCE_DETECTORS');
  if (!names || names.length === 0) return [envDetector, processDetector, hostDetector];
  if (names.includes('all')) return Object.values(DETECTORS);
  if (names.includes('none')) return [];
  return names.flatMap((name) => {
    const detector = DETECTORS[name];
    if (!detector) diag.warn(`Invalid resource detector "${name}" specified in the environment variable OTEL_NODE_RESOURCE_DETECTORS`);
    return detector ? [detector] : [];
  });
}

const nonNegative = (name: string) => {
  const n = getNumberFromEnv(name);
  return n !== undefined && n >= 0 ? n : undefined;
};

/** Batches spans to the OTLP/HTTP exporter, loaded only when an endpoint is set (it brings the OTLP encoders). */
function exportingProcessor(endpoint: string): SpanProcessor {
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  return new BatchSpanProcessor({
    exporter: new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` }),
    maxQueueSize: nonNegative('OTEL_BSP_MAX_QUEUE_SIZE'),
    scheduledDelayMillis: nonNegative('OTEL_BSP_SCHEDULE_DELAY'),
    exportTimeoutMillis: nonNegative('OTEL_BSP_EXPORT_TIMEOUT'),
    maxExportBatchSize: nonNegative('OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
  });
}

export function startTracing(opts: TracingOptions): Tracing {
  const ratio = opts.sampleRatio ?? 1;
  if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`sampleRatio must be between 0 and 1, got ${ratio}`);
  // Off: nothing registered, no module patched; spans are no-ops and carry no trace ids.
  if (getBooleanFromEnv('OTEL_SDK_DISABLED')) return { shutdown: async () => undefined };

  const logLevel = getStringFromEnv('OTEL_LOG_LEVEL');
  if (logLevel) diag.setLogger(new DiagConsoleLogger(), { logLevel: diagLogLevelFromString(logLevel) });

  // Instrumentations first, as NodeSDK.start() did: they patch modules required from here on.
  registerInstrumentations({ instrumentations: selectedInstrumentations(process.env, (msg) => diag.warn(msg)) });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());

  const resource = defaultResource()
    .merge(detectResources({ detectors: resourceDetectors() }))
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: opts.serviceName }));
  const provider = new TracerProvider({
    resource,
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }),
    spanLimits: {
      attributeCountLimit: getNumberFromEnv('OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT') ?? getNumberFromEnv('OTEL_ATTRIBUTE_COUNT_LIMIT'),
      attributeValueLengthLimit: getNumberFromEnv('OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT') ?? getNumberFromEnv('OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT'),
      eventCountLimit: getNumberFromEnv('OTEL_SPAN_EVENT_COUNT_LIMIT'),
      linkCountLimit: getNumberFromEnv('OTEL_SPAN_LINK_COUNT_LIMIT'),
      attributePerEventCountLimit: getNumberFromEnv('OTEL_SPAN_ATTRIBUTE_PER_EVENT_COUNT_LIMIT'),
      attributePerLinkCountLimit: getNumberFromEnv('OTEL_SPAN_ATTRIBUTE_PER_LINK_COUNT_LIMIT'),
    },
    // Without an exporter a no-op processor keeps real, sampled contexts flowing (trace ids for the logs)
    // while exporting nothing.
    spanProcessors: [opts.otlpEndpoint ? exportingProcessor(opts.otlpEndpoint) : new NoopSpanProcessor()],
  });
  trace.setGlobalTracerProvider(provider);

  // As NodeSDK's: flush and stop the provider; patched modules stay patched (no-ops now) while the app drains.
  const shutdown = () => provider.shutdown();
  registerTracingShutdown(shutdown);
  return { shutdown };
}
