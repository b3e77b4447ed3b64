import type { INestApplication } from '@nestjs/common';
import { bootstrapService } from '@keelson/nest-kit';
import { createLogger } from '@keelson/observability';
import { loadGatewayConfig } from './config';
import { GatewayModule } from './gateway.module';
import { AccessLog } from './auth/access-log';
import { recordAccess } from './auth/access-log.providers';
import { recordTraffic } from './ops/record-traffic';
import { TrafficWindow } from './ops/traffic-window';

/** Boots the gateway from the environment; exported so tests start the real thing. */
export async function bootstrap(env: NodeJS.ProcessEnv = process.env): Promise<INestApplication> {
  const config = loadGatewayConfig(env);
  const logger = createLogger({ service: 'gateway', level: config.LOG_LEVEL });
  const traffic = new TrafficWindow();
  const access = new AccessLog(config.ACCESS_LOG_INTERVAL_MS);
  return bootstrapService({
    name: 'gateway',
    module: GatewayModule.forRoot(config, logger, { traffic, access }),
    port: config.PORT,
    host: config.HOST,
    logger,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    http: config,
    httpMetrics: true,
    onHttpResponse: (sample) => {
      recordTraffic(traffic, sample);
      recordAccess(access, sample);
    },
  });
}
