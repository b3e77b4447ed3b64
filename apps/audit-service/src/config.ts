import { join } from 'node:path';
import { baseServiceConfig, integer, jsonSetting, loadConfig, port, requireObjectStoreKeys, secretRefSetting } from '@keelson/config';
import { z } from 'zod';

const TENANT = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** `{"acme":365}`: days each named tenant's audit records are kept; others keep AUDIT_RETENTION_DAYS. */
const retentionByTenant = jsonSetting(z.record(z.string().regex(TENANT, 'expected a tenant id'), z.number().int().min(1).max(36_500)), '{"acme":365}')
  .default({});

/** audit-service holds no Redis state: its store is SQLite (embedded) or MongoDB. */
export const auditServiceConfigSchema = baseServiceConfig
  .omit({ REDIS_URL: true })
  .extend({
    ...port('HEALTH_PORT', 8084),
    HOST: z.string().min(1).default('127.0.0.1'),
    /** `sqlite`: embedded, one file under AUDIT_DATA_DIR (the default). `mongodb`: MONGODB_URL. */
    AUDIT_STORE: z.enum(['sqlite', 'mongodb'], { error: 'expected sqlite or mongodb' }).default('sqlite'),
    KEELSON_DATA_DIR: z.string().min(1).optional(),
    /** Default `<KEELSON_DATA_DIR or .keelson>/audit`. */
    AUDIT_DATA_DIR: z.string().min(1).optional(),
    MONGODB_URL: z.string().regex(/^mongodb(\+srv)?:\/\//, 'expected a mongodb:// or mongodb+srv:// URL').optional(),
    /** The MongoDB user's password from a mounted file or a secrets reference; the user name stays in MONGODB_URL. */
    MONGODB_PASSWORD_FILE: z.string().min(1).optional(),
    MONGODB_PASSWORD_REF: secretRefSetting(),
    /** Days a record is kept (0: for ever); AUDIT_RETENTION_BY_TENANT overrides it per tenant. */
    AUDIT_RETENTION_DAYS: integer(0, 0, 36_500),
    AUDIT_RETENTION_BY_TENANT: retentionByTenant,
    /** Audit events handled at once by this replica (their writes are batched into one transaction). */
    WRITE_CONCURRENCY: integer(256, 1, 4_096),
    /** Records per archived audit batch; a partial batch is archived once its oldest record is AUDIT_ARCHIVE_MAX_AGE_MS old. */
    AUDIT_ARCHIVE_BATCH: integer(1_000, 1, 100_000),
    AUDIT_ARCHIVE_MAX_AGE_MS: integer(3_600_000, 0),
    /** How often the archiver looks for batches to write; 0 turns batch archiving off. */
    AUDIT_ARCHIVE_INTERVAL_MS: integer(60_000, 0),
  })
  .superRefine((c, ctx) => {
    if (c.AUDIT_STORE === 'mongodb' && !c.MONGODB_URL) {
      ctx.addIssue({ code: 'custom', path: ['MONGODB_URL'], message: 'required when AUDIT_STORE=mongodb' });
    }
    requireObjectStoreKeys(c, ctx);
  });
export type AuditServiceConfig = z.infer<typeof auditServiceConfigSchema>;

export const loadAuditServiceConfig = (env: NodeJS.ProcessEnv = process.env): AuditServiceConfig =>
  loadConfig(auditServiceConfigSchema, env);

export const auditDataDir = (config: Pick<AuditServiceConfig, 'AUDIT_DATA_DIR' | 'KEELSON_DATA_DIR'>): string =>
  config.AUDIT_DATA_DIR ?? join(config.KEELSON_DATA_DIR ?? '.keelson', 'audit');

/** Days to keep a tenant's records, or undefined for ever. */
export const retentionDaysFor = (config: Pick<AuditServiceConfig, 'AUDIT_RETENTION_DAYS' | 'AUDIT_RETENTION_BY_TENANT'>) =>
  (tenant: string): number | undefined => config.AUDIT_RETENTION_BY_TENANT[tenant] ?? (config.AUDIT_RETENTION_DAYS || undefined);
