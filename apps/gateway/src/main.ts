// Tracing first: auto-instrumentation only patches modules loaded after it.
import '@keelson/observability/dist/register';
import { bootstrap } from './bootstrap';

bootstrap().catch((err: unknown) => {
  process.stderr.write(`gateway failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
