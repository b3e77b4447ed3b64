// Tracing first: modules loaded before it are never instrumented.
import '@keelson/observability/dist/register';
import { runService, startHealthOnlyService } from '@keelson/nest-kit';

// Health only until this service's issue lands (see README.md).
void runService('memory-service', () => startHealthOnlyService('memory-service', 8083));
