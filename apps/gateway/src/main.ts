// Tracing first: auto-instrumentation only patches modules loaded after it.
import '@keelson/observability/dist/register';
import { runService } from '@keelson/nest-kit';
import { bootstrap } from './bootstrap';

void runService('gateway', () => bootstrap());
