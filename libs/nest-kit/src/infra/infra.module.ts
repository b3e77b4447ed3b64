import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { AuditStream, LogLevelCommandSchema, Subjects, type LogLevelCommand, type StreamSpec } from '@keelson/contracts';
import { AuditTrail } from '@keelson/audit';
import { baseServiceConfig, type ObjectStoreSettings } from '@keelson/config';
import { DEFAULT_EFFECTIVE_POLICY, filterOutput } from '@keelson/guard';
import { OBJECT_STORE_SECRETS, objectStorageFromSettings } from '@keelson/object-store';
import { SettingsSecrets } from '@keelson/secrets';
import { JetStreamPublisher, connectNats, decodeJson, hasResponderIdentity, provisionStreams, type MessagingLogger, type NatsCredentials } from '@keelson/messaging';
import { shutdownTracing } from '@keelson/observability';
import type { NatsConnection } from 'nats';
import { answerOpsStats } from './ops-stats';
import { connectRedis, type RedisClient } from './redis';
import { AUDIT_TRAIL, INFRA_SECRETS, JETSTREAM_PUBLISHER, NATS_CONNECTION, NATS_RESPONDER_CONNECTION, REDIS_CLIENT, SERVICE_LOGGER, SERVICE_NAME } from './tokens';

export interface InfraOptions {
  serviceName: string;
  natsUrl: string;
  /** This service's NATS identity (natsCredentialsFrom(config)); absent: no NATS auth. */
  natsCredentials?: NatsCredentials | undefined;
  /** Services without Redis state leave this out. */
  redisUrl?: string;
  /** Streams this service publishes to or reads from; provisioned idempotently before anything starts. */
  streams: StreamSpec[];
  logger: MessagingLogger;
  /**
   * Object storage for audit payloads above the inline limit (the service's loaded config: its
   * OBJECT_STORE_* settings); without OBJECT_STORE_URL such payloads are kept as digest, size and preview.
   */
  objectStore?: ObjectStoreSettings;
  /** Replicas of each provisioned stream; absent: the JETSTREAM_REPLICAS setting (default 1). */
  jetstreamReplicas?: number;
}

/** A logger whose level can change at run time (the observability Logger). */
type LevelledLogger = MessagingLogger & { setLevel?(level: string): void };

class InfraLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    @Inject(NATS_RESPONDER_CONNECTION) private readonly responder: NatsConnection,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient | null,
    @Inject(SERVICE_LOGGER) private readonly logger: LevelledLogger,
    @Inject(SERVICE_NAME) private readonly service: string,
    @Inject(INFRA_SECRETS) private readonly secrets: SettingsSecrets,
  ) {
    this.followLogLevel();
    answerOpsStats(responder, service, logger);
  }

  /** Subjects.logLevel: an operator changes this replica's log level without a restart. */
  private followLogLevel(): void {
    const logger = this.logger;
    if (!logger.setLevel) return;
    const sub = this.nats.subscribe(Subjects.logLevel);
    void (async () => {
      for await (const msg of sub) {
        const command = logLevelCommand(msg.data);
        if (!command) {
          logger.warn('ignored a malformed log-level command', { subject: Subjects.logLevel });
          continue;
        }
        if (command.service !== undefined && command.service !== this.service) continue;
        logger.setLevel!(command.level);
        // At warn, so the change itself is visible whatever the new level.
        logger.warn('log level changed', { newLevel: command.level });
      }
    })();
  }

  /** Runs after the transports have stopped consuming, so draining here loses nothing in flight. */
  async onApplicationShutdown(): Promise<void> {
    // The responders have stopped (beforeApplicationShutdown), so the answers in flight are out; drained first,
    // while the main connection still takes what those answers published.
    if (this.responder !== this.nats && !this.responder.isClosed()) await this.responder.drain().catch(() => undefined);
    if (!this.nats.isClosed()) await this.nats.drain().catch(() => undefined);
    if (this.redis?.isOpen) await this.redis.close().catch(() => undefined);
    await this.secrets.stop().catch(() => undefined);
    // Last, so the spans of the drain itself are exported too.
    await shutdownTracing().catch(() => undefined);
  }
}

function logLevelCommand(data: Uint8Array): LogLevelCommand | undefined {
  try {
    const parsed = LogLevelCommandSchema.safeParse(decodeJson(data));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** NATS, JetStream publisher and Redis, connected once per process and shared by every module. */
@Global()
@Module({})
export class InfraModule {
  static forRoot(options: InfraOptions): DynamicModule {
    return {
      module: InfraModule,
      providers: [
        { provide: SERVICE_LOGGER, useValue: options.logger },
        { provide: SERVICE_NAME, useValue: options.serviceName },
        {
          provide: NATS_CONNECTION,
          useFactory: async () => {
            const nc = await connectNats({
              url: options.natsUrl,
              name: options.serviceName,
              logger: options.logger,
              ...(options.natsCredentials ? { credentials: options.natsCredentials } : {}),
            });
            // Every service records audit events, so every one needs the stream (idempotent).
            const streams = options.streams.some((s) => s.name === AuditStream.name) ? options.streams : [...options.streams, AuditStream];
            // Unset: new streams get 1 replica and existing ones keep theirs, so a replica started without the
            // setting never scales a stream down.
            const fromEnv = process.env['JETSTREAM_REPLICAS'];
            const replicas = options.jetstreamReplicas ?? (fromEnv ? baseServiceConfig.shape.JETSTREAM_REPLICAS.parse(fromEnv) : undefined);
            try {
              await provisionStreams(nc, streams, replicas === undefined ? {} : { replicas });
            } catch (err) {
              await nc.close().catch(() => undefined);
              throw new Error(`JETSTREAM_REPLICAS=${replicas ?? '(unset)'}: cannot provision the streams: ${(err as Error).message}`, { cause: err });
            }
            return nc;
          },
        },
        {
          provide: NATS_RESPONDER_CONNECTION,
          inject: [NATS_CONNECTION],
          useFactory: async (main: NatsConnection) => {
            if (!(await hasResponderIdentity(options.natsCredentials))) return main;
            return connectNats({
              url: options.natsUrl,
              name: `${options.serviceName}-responder`,
              logger: options.logger,
              credentials: options.natsCredentials!,
              role: 'responder',
            });
          },
        },
        {
          provide: INFRA_SECRETS,
          // The object store's keys and Redis's password, from files or Vault, fetched before anything connects.
          useFactory: () =>
            SettingsSecrets.start(options.objectStore ?? {}, [...OBJECT_STORE_SECRETS, 'REDIS_PASSWORD'], {
              onWarning: (message) => options.logger.warn(message),
              onError: (message) => options.logger.error(message),
            }),
        },
        {
          provide: REDIS_CLIENT,
          inject: [INFRA_SECRETS],
          useFactory: (secrets: SettingsSecrets) => {
            if (!options.redisUrl) return null;
            const password = secrets.reader('REDIS_PASSWORD');
            return connectRedis(options.redisUrl, options.serviceName, options.logger, password ? { password } : {});
          },
        },
        {
          provide: JETSTREAM_PUBLISHER,
          inject: [NATS_CONNECTION],
          useFactory: (nc: NatsConnection) => new JetStreamPublisher(nc, { logger: options.logger }),
        },
        {
          provide: AUDIT_TRAIL,
          inject: [JETSTREAM_PUBLISHER, INFRA_SECRETS],
          useFactory: (publisher: JetStreamPublisher, secrets: SettingsSecrets) => {
            const storage = options.objectStore ? objectStorageFromSettings(options.objectStore, secrets) : undefined;
            return new AuditTrail(publisher, {
              service: options.serviceName,
              ...(storage ? { payloads: storage.offloader } : {}),
              // Offloaded payloads never pass audit-service's scrubbing: the default output policy (every
              // entity type redacted) applies before they leave this process.
              redact: (tenant, text) => filterOutput(text, DEFAULT_EFFECTIVE_POLICY.output, { tenant }).text,
              logger: options.logger,
            });
          },
        },
        InfraLifecycle,
      ],
      exports: [SERVICE_LOGGER, SERVICE_NAME, NATS_CONNECTION, NATS_RESPONDER_CONNECTION, REDIS_CLIENT, JETSTREAM_PUBLISHER, AUDIT_TRAIL, INFRA_SECRETS],
    };
  }
}
