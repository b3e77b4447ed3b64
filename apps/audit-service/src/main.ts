// Tracing first: modules loaded before it are never instrumented.
import '@keelson/observability/dist/register';
import { bootstrap } from './bootstrap';

void bootstrap();
