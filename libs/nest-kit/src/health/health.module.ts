import { Module } from '@nestjs/common';
import { HealthController } from './health.controller';
import { Readiness } from './readiness';
import { ShutdownDrain, shutdownDrainMs } from './shutdown-drain';

@Module({
  controllers: [HealthController],
  providers: [Readiness, ShutdownDrain, { provide: 'SHUTDOWN_DRAIN_MS', useFactory: shutdownDrainMs }],
  exports: [Readiness],
})
export class HealthModule {}
