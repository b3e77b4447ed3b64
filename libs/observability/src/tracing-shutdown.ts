// Kept apart from tracing.ts so that a service can flush spans on shutdown without loading the SDK.
let active: (() => Promise<void>) | undefined;

export function registerTracingShutdown(shutdown: () => Promise<void>): void {
  active = shutdown;
}

/** Flushes the spans still buffered and stops the SDK, if tracing was started; a no-op otherwise. */
export async function shutdownTracing(): Promise<void> {
  const shutdown = active;
  active = undefined;
  await shutdown?.();
}
