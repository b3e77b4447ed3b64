import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  Controller,
  Inject,
  Injectable,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Ctx, EventPattern } from '@nestjs/microservices';
import { AuditConsumers, AuditQueueGroup } from '@keelson/contracts';
import { AuditIngest, openMongoAuditStore, openSqliteAuditStore, type AuditSink, type AuditStore } from '@keelson/audit';
import { serveRequests, type MessagingLogger } from '@keelson/messaging';
import { metricsRegistry } from '@keelson/observability';
import { AUDIT_TRAIL, INFRA_SECRETS, JetStreamContext, NATS_CONNECTION, NATS_RESPONDER_CONNECTION, SERVICE_LOGGER, guardPolicyCache } from '@keelson/nest-kit';
import { objectStorageFromSettings, type ObjectStorage } from '@keelson/object-store';
import { SettingsSecrets } from '@keelson/secrets';
import type { NatsConnection } from 'nats';
import { auditDataDir, retentionDaysFor, type AuditServiceConfig } from '../config';
import { auditRpcHandlers } from './answer-audit';
import { handleAuditMessage } from './audit-writer';
import { AuditBatchArchiver } from './batch-archiver';
import { AuditRedactor } from './redaction';
import { RunArchive } from './run-archive';

const AUDIT_STORE = Symbol('AUDIT_STORE');
/** The store's own secret (the MongoDB password), kept current like every other. */
const AUDIT_STORE_SECRETS = Symbol('AUDIT_STORE_SECRETS');
const OBJECT_STORAGE = Symbol('OBJECT_STORAGE');
const AUDIT_CONFIG = Symbol('AUDIT_CONFIG');
const PURGE_INTERVAL_MS = 60 * 60_000;

/** Malformed events dead-lettered since start, by reason (logged as they happen and at shutdown). */
export class AuditCounters {
  readonly rejected = new Map<string, number>();
  stored = 0;
  duplicates = 0;

  reject(reason: string): number {
    // Counted by the reason's first clause, so a flood of one fault stays one line.
    const key = reason.split(':').slice(0, 2).join(':');
    const n = (this.rejected.get(key) ?? 0) + 1;
    this.rejected.set(key, n);
    return n;
  }
}

async function openStore(config: AuditServiceConfig, secrets: SettingsSecrets): Promise<AuditStore> {
  const retentionDays = retentionDaysFor(config);
  if (config.AUDIT_STORE === 'mongodb') {
    const password = secrets.reader('MONGODB_PASSWORD');
    return openMongoAuditStore({ url: config.MONGODB_URL!, retentionDays, ...(password ? { auth: { password: password() } } : {}) });
  }
  const dir = auditDataDir(config);
  mkdirSync(dir, { recursive: true });
  return openSqliteAuditStore({ path: join(dir, 'audit.db'), retentionDays });
}

/** The write path's collaborators, built once: ingest (with PII scrubbing), archives, counters. */
@Injectable()
export class AuditPipeline {
  readonly ingest: AuditIngest;
  readonly runArchive: RunArchive | undefined;
  readonly batches: AuditBatchArchiver | undefined;

  constructor(
    @Inject(AUDIT_STORE) readonly store: AuditStore,
    @Inject(OBJECT_STORAGE) storage: ObjectStorage | undefined,
    @Inject(NATS_CONNECTION) nats: NatsConnection,
    @Inject(AUDIT_TRAIL) audit: AuditSink,
    @Inject(SERVICE_LOGGER) readonly logger: MessagingLogger,
    @Inject(AUDIT_CONFIG) config: AuditServiceConfig,
    readonly counters: AuditCounters,
  ) {
    const policies = guardPolicyCache(nats, logger, config.GUARD_POLICY_TTL_MS);
    const redactor = new AuditRedactor(async (tenant) => (await policies.effective(tenant)).output);
    this.ingest = new AuditIngest(store, { redact: (event) => redactor.redact(event) });
    this.runArchive = storage ? new RunArchive(nats, storage.archiver, audit) : undefined;
    this.batches =
      storage && config.AUDIT_ARCHIVE_INTERVAL_MS > 0
        ? new AuditBatchArchiver(store, storage, { batchSize: config.AUDIT_ARCHIVE_BATCH, maxAgeMs: config.AUDIT_ARCHIVE_MAX_AGE_MS }, logger)
        : undefined;
  }
}

/** Answers the query and verify RPCs (queue group keelson-audit), runs the archiver and the retention purge. */
@Injectable()
class AuditResponder implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private servers: { stop(): Promise<void> }[] = [];
  private timers: NodeJS.Timeout[] = [];

  constructor(
    @Inject(NATS_RESPONDER_CONNECTION) private readonly nats: NatsConnection,
    @Inject(AUDIT_CONFIG) private readonly config: AuditServiceConfig,
    private readonly pipeline: AuditPipeline,
  ) {}

  onApplicationBootstrap(): void {
    const { logger, store, batches } = this.pipeline;
    for (const [subject, handler] of Object.entries(auditRpcHandlers(store))) {
      this.servers.push(serveRequests(this.nats, subject, AuditQueueGroup, handler, { logger }));
    }
    if (batches) this.every(this.config.AUDIT_ARCHIVE_INTERVAL_MS, () => batches.runOnce());
    this.every(PURGE_INTERVAL_MS, async () => {
      const purged = await store.purgeExpired(new Date());
      if (purged > 0) logger.info('audit records past their retention purged', { purged });
    });
    logger.info('answering audit requests', { subjects: Object.keys(auditRpcHandlers(store)), queue: AuditQueueGroup, archives: batches ? 'on' : 'off' });
  }

  private every(ms: number, task: () => Promise<void>): void {
    const timer = setInterval(() => void task().catch((err: unknown) => this.pipeline.logger.warn('audit housekeeping failed', { error: (err as Error).message })), ms);
    timer.unref();
    this.timers.push(timer);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.timers.forEach(clearInterval);
    await Promise.all(this.servers.map((s) => s.stop()));
  }

  async onApplicationShutdown(): Promise<void> {
    const { ingest, store, counters, logger } = this.pipeline;
    await ingest.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    logger.info('audit events since start', { stored: counters.stored, duplicates: counters.duplicates, deadLettered: Object.fromEntries(counters.rejected) });
  }
}

/** Binds the audit-writer consumer: resolving acknowledges the event (stored), a throw is settled by the runner. */
@Controller()
class AuditWriterController {
  constructor(private readonly pipeline: AuditPipeline) {}

  @EventPattern(AuditConsumers.writer.durable)
  async onEvent(@Ctx() context: JetStreamContext): Promise<void> {
    const { ingest, runArchive, batches, counters, logger } = this.pipeline;
    const result = await handleAuditMessage(context.message, {
      ingest,
      afterStore: async (record) => {
        batches?.noteTenant(record.tenant);
        await runArchive?.afterStore(record);
      },
      onRejected: (reason) => {
        const count = counters.reject(reason);
        metricsRegistry().counter('auditEvents').inc({ outcome: 'dead_lettered' });
        logger.warn('malformed audit event dead-lettered', { subject: context.message.subject, reason, count });
      },
    });
    if (result.outcome === 'stored') counters.stored++;
    else counters.duplicates++;
    metricsRegistry().counter('auditEvents').inc({ outcome: result.outcome === 'stored' ? 'stored' : 'duplicate' });
  }
}

@Module({})
export class AuditModule {
  static forRoot(config: AuditServiceConfig): DynamicModule {
    return {
      module: AuditModule,
      controllers: [AuditWriterController],
      providers: [
        { provide: AUDIT_CONFIG, useValue: config },
        {
          provide: AUDIT_STORE_SECRETS,
          inject: [SERVICE_LOGGER],
          useFactory: (logger: MessagingLogger) =>
            SettingsSecrets.start(config, ['MONGODB_PASSWORD'], { onWarning: (m) => logger.warn(m), onError: (m) => logger.error(m) }),
        },
        { provide: AUDIT_STORE, inject: [AUDIT_STORE_SECRETS], useFactory: (secrets: SettingsSecrets) => openStore(config, secrets) },
        // The same keys InfraModule fetched for the audit trail's payloads (files or Vault, kept current).
        { provide: OBJECT_STORAGE, inject: [INFRA_SECRETS], useFactory: (secrets: SettingsSecrets) => objectStorageFromSettings(config, secrets) },
        AuditCounters,
        AuditPipeline,
        AuditResponder,
      ],
    };
  }
}
