import { readFileSync, statSync } from 'node:fs';
import { GuardPolicyInputSchema, parseOrThrow, type GuardDecision, type GuardPolicy } from '@keelson/contracts';
import type { BudgetLedger, BudgetStore, RateLimiter } from '@keelson/cost';
// Loaded with require() where they are optional: only what the settings switch on is read at cold start.
import { InlineGuard, resolvePolicy, type RunGuardContext } from '@keelson/guard';
import { ApiKeyStore, Authenticator, StaticKeys, jwtVerifierFromSettings } from '@keelson/identity';
import { AgentFileRegistry, AgentRegistry, AnthropicProvider, OfflineModel, OpenAICompatibleProvider, ProviderRegistry, RoutingService, UsageMeter, builtinAgents, type AgentDefinition, type EventPublisher } from '@keelson/runtime';
import type { FunctionConfig } from './config';
import type { FunctionDeps } from './invoke-handler';
import type { FunctionLogger } from './logger';
import { rateLimitCheck } from './rate-limits';

/** What the function holds between invocations of one container, and closes on SIGTERM. */
export interface FunctionRuntime {
  deps: FunctionDeps;
  /** What was switched on by the settings, logged once per cold start. */
  features: { redis: boolean; nats: boolean; oidc: boolean; agentsDir: boolean; guardPolicyFile: boolean };
  close(): Promise<void>;
}

/**
 * Builds the handler's dependencies from the settings, once per cold start. Only what the settings ask for is
 * loaded: the Redis client with REDIS_URL (keys made through the admin API, budgets, rate limits), the NATS
 * client with NATS_URL (usage records on the usage stream, audit events), jose with OIDC. Without NATS each
 * model call's usage record is a log line (`usage record`), the shape the usage stream carries.
 */
export async function buildFunctionRuntime(config: FunctionConfig, logger: FunctionLogger): Promise<FunctionRuntime> {
  const closers: Array<() => Promise<unknown>> = [];
  const redis = config.REDIS_URL ? await connectRedis(config.REDIS_URL, logger) : undefined;
  if (redis) closers.push(() => redis.quit());
  const nats = config.NATS_URL ? await connectNats(config, logger) : undefined;
  if (nats) closers.push(() => nats.connection.drain());

  const staticKeys = StaticKeys.fromFile(config.KEELSON_API_KEYS_FILE, (message) => logger.warn(message));
  const authenticator = new Authenticator(
    { staticKeys, store: redis ? new ApiKeyStore(redis) : undefined, jwt: jwtVerifierFromSettings(config) },
    { cacheMs: config.AUTH_CACHE_MS },
  );

  const agents = config.AGENTS_DIR ? new AgentFileRegistry(config.AGENTS_DIR, { logger, watch: false }) : new AgentRegistry(builtinAgents());
  const keys = await providerKeys(config, logger);
  closers.push(() => keys.stop());

  const audit = nats?.audit;
  const guard = new InlineGuard({
    policies: guardPolicies(config.GUARD_POLICY_FILE),
    onDecision: (decision: GuardDecision, context: RunGuardContext) => {
      if (!audit) {
        logger.info('guard decision', { decision, ...context });
        return;
      }
      audit.record(nats.guardDecisionDraft(decision, context)).catch((err: unknown) =>
        logger.error('guard decision not recorded in the audit trail', { tenant: decision.tenant, action: decision.action, error: (err as Error).message }),
      );
    },
  });

  const cost = redis ? (require('@keelson/cost') as typeof import('@keelson/cost')) : undefined;
  const metering = new UsageMeter({
    // Without Redis no budget is listed, so every call takes the unbudgeted path, which never touches the ledger.
    ledger: cost && redis ? new cost.BudgetLedger(redis) : (NO_LEDGER as BudgetLedger),
    budgets: cost && redis ? new cost.BudgetStore(redis) : NO_BUDGETS,
    publisher: nats?.publisher ?? logPublisher(logger),
    logger,
    ...(audit ? { audit } : {}),
    ...(cost && redis ? { rateLimits: { limiter: new cost.RateLimiter(redis), rulesFor: (tenant: string) => cost.rulesFor(config, tenant) } } : {}),
  });
  const rateLimiter: Pick<RateLimiter, 'check'> | undefined = cost && redis ? new cost.RateLimiter(redis) : undefined;
  // Routed agents (`model.routing`) and the exact response cache, as AgentsModule builds them for the services.
  const cacheTtlSeconds = config.RESPONSE_CACHE_TTL_SECONDS;
  const routing =
    cost && redis
      ? new RoutingService({
          policies: agents,
          pins: new cost.SessionPins(redis, { ttlSeconds: config.ROUTE_PIN_TTL_SECONDS }),
          ledger: new cost.BudgetLedger(redis),
          tally: new cost.RoutingTally(redis),
          ...(cacheTtlSeconds > 0 ? { cache: new cost.ResponseCache(redis, { ttlSeconds: cacheTtlSeconds }) } : {}),
          logger,
        })
      : undefined;

  warmUp(agents.list(), guard);

  return {
    deps: {
      authenticator,
      invoke: { agents, providers: providersFrom(config, keys), metering, guard, ...(routing ? { routing } : {}), ...(audit ? { audit } : {}) },
      ...(rateLimiter ? { rateLimits: rateLimitCheck(rateLimiter, config) } : {}),
      logger,
      limits: { bodyLimitBytes: config.BODY_LIMIT_BYTES, maxJsonDepth: config.HTTP_MAX_JSON_DEPTH, invokeTimeoutMs: config.INVOKE_TIMEOUT_MS },
    },
    features: {
      redis: !!redis,
      nats: !!nats,
      oidc: !!config.OIDC_ISSUER,
      agentsDir: !!config.AGENTS_DIR,
      guardPolicyFile: !!config.GUARD_POLICY_FILE,
    },
    close: async () => {
      for (const close of closers.reverse()) await close().catch(() => undefined);
    },
  };
}

/**
 * What the first call would otherwise pay for, done while the function starts (Lambda's init phase): the
 * tokenizer of each model the agents name, which metering counts output with (o200k for the gpt-4o family
 * takes about 0.6 s to load), and the guard's rules (about 15 ms). The offline model's is not loaded: it
 * reports its own usage.
 */
function warmUp(agents: readonly AgentDefinition[], guard: InlineGuard): void {
  const { warmUpTokenizer } = require('@keelson/cost') as typeof import('@keelson/cost');
  for (const model of new Set(agents.flatMap((a) => (a.model.provider && a.model.provider !== 'offline' && a.model.name ? [a.model.name] : [])))) {
    warmUpTokenizer(model);
  }
  void guard.forRun('_warmup', '_warmup').then((run) => run.checkInput('warm up', 'user'));
}

const NO_BUDGETS: Pick<BudgetStore, 'list'> = { list: async () => [] };
const NO_LEDGER = {};

/**
 * Without NATS, each usage record is one JSON log line (`"message":"usage record"`, whatever LOG_LEVEL), the
 * record the usage stream would carry: CloudWatch Logs keeps it, a metric filter or a subscription can count
 * or forward it (docs/serverless.md).
 */
function logPublisher(logger: FunctionLogger): EventPublisher {
  return {
    publish: async (subject: string, payload: unknown) => {
      logger.record('usage record', { subject, usageRecord: payload });
    },
  };
}

/** One guard policy for every tenant, from GUARD_POLICY_FILE; without it the default policy (every check on). */
function guardPolicies(file: string | undefined): { effective(tenant: string, agentId?: string): Promise<ReturnType<typeof resolvePolicy>> } {
  let policy: GuardPolicy | undefined;
  if (file) {
    const input = parseOrThrow(GuardPolicyInputSchema, JSON.parse(readFileSync(file, 'utf8')));
    policy = { ...input, version: 1, updatedAt: statSync(file).mtime.toISOString() };
  }
  return { effective: async (_tenant, agentId) => resolvePolicy(policy, agentId) };
}

interface ProviderKeys {
  reader(name: string): (() => string) | undefined;
  stop(): Promise<void>;
}

const PROVIDER_KEYS = ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY'] as const;

/**
 * The model providers' keys from the secrets layer (files or Vault), as in the services. @keelson/secrets is
 * loaded only when a key is configured: its Vault client costs 50-90 ms of cold start (docs/benchmarks.md).
 */
async function providerKeys(config: FunctionConfig, logger: FunctionLogger): Promise<ProviderKeys> {
  if (!PROVIDER_KEYS.some((name) => config[`${name}_FILE`] || config[`${name}_REF`])) return { reader: () => undefined, stop: async () => undefined };
  const { SettingsSecrets } = require('@keelson/secrets') as typeof import('@keelson/secrets');
  return SettingsSecrets.start(config, PROVIDER_KEYS, {
    onWarning: (message) => logger.warn(message),
    onError: (message) => logger.error(`a model provider key could not be re-read; the previous one stays in use: ${message}`),
  });
}

/** The offline model always, plus each real provider whose endpoint or key is configured (as the services do). */
function providersFrom(config: FunctionConfig, keys: ProviderKeys): ProviderRegistry {
  const registry = new ProviderRegistry([new OfflineModel()]);
  const openaiKey = keys.reader('OPENAI_API_KEY');
  if (config.OPENAI_BASE_URL || openaiKey) {
    registry.register(new OpenAICompatibleProvider({ baseUrl: config.OPENAI_BASE_URL ?? 'https://api.openai.com/v1', ...(openaiKey ? { apiKey: openaiKey } : {}) }));
  }
  const anthropicKey = keys.reader('ANTHROPIC_API_KEY');
  if (anthropicKey) {
    registry.register(new AnthropicProvider({ apiKey: anthropicKey, ...(config.ANTHROPIC_BASE_URL ? { baseUrl: config.ANTHROPIC_BASE_URL } : {}) }));
  }
  return registry;
}

/** The redis package is loaded only when REDIS_URL is set. */
async function connectRedis(url: string, logger: FunctionLogger) {
  const { createClient } = require('redis') as typeof import('redis');
  const client = createClient({ url, name: 'stateless-function', socket: { reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 2_000), connectTimeout: 5_000 } });
  client.on('error', (err: Error) => logger.warn('redis connection error', { error: err.message }));
  await client.connect();
  return client;
}

/** nats.js, the JetStream publisher and the audit trail are loaded only when NATS_URL is set. */
async function connectNats(config: FunctionConfig, logger: FunctionLogger) {
  const messaging = require('@keelson/messaging') as typeof import('@keelson/messaging');
  // The publishing half of @keelson/audit only: its index also loads the SQLite and MongoDB stores.
  const auditing = require('@keelson/audit/dist/publish/audit-trail') as typeof import('@keelson/audit/dist/publish/audit-trail');
  const connection = await messaging.connectNats({
    url: config.NATS_URL!,
    name: 'stateless-function',
    logger,
    credentials: messaging.natsCredentialsFrom(config),
  });
  const publisher = new messaging.JetStreamPublisher(connection, { logger });
  return { connection, publisher, audit: new auditing.AuditTrail(publisher, { service: 'stateless-function' }), guardDecisionDraft: auditing.guardDecisionDraft };
}
