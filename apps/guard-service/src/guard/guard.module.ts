import { Module, type DynamicModule } from '@nestjs/common';
import { RedisPseudonymVault, Pseudonymizer, OpenAiCompatibleClassifier } from '@keelson/guard';
import { REDIS_CLIENT, type RedisClient } from '@keelson/nest-kit';
import { secretFromFile } from '@keelson/config';
import { readFile } from 'node:fs/promises';
import type { GuardServiceConfig } from '../config';
import { GUARD_OPTIONS, type GuardModuleOptions } from './guard.options';
import { GuardResponder } from './guard.responder';
import { PolicyStore, type PolicyRedis } from './policy-store';

/** Reads the pseudonym master key: 64 hex characters or base64 of 32 bytes. */
export async function readMasterKey(path: string): Promise<Buffer> {
  const raw = (await readFile(path, 'utf8')).trim();
  const key = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
  if (key.length !== 32) throw new Error(`GUARD_PSEUDONYM_KEY_FILE (${path}) must hold 32 bytes as 64 hex characters or base64`);
  return key;
}

@Module({})
export class GuardModule {
  static forRoot(config: GuardServiceConfig): DynamicModule {
    return {
      module: GuardModule,
      providers: [
        {
          provide: GUARD_OPTIONS,
          inject: [REDIS_CLIENT],
          useFactory: async (redis: RedisClient): Promise<GuardModuleOptions> => ({
            concurrency: config.GUARD_CONCURRENCY,
            policyCacheMs: config.GUARD_POLICY_CACHE_MS,
            classifier: config.GUARD_CLASSIFIER_BASE_URL
              ? new OpenAiCompatibleClassifier({
                  baseUrl: config.GUARD_CLASSIFIER_BASE_URL,
                  model: config.GUARD_CLASSIFIER_MODEL,
                  ...(config.GUARD_CLASSIFIER_API_KEY_FILE ? { apiKey: secretFromFile(config.GUARD_CLASSIFIER_API_KEY_FILE) } : {}),
                })
              : undefined,
            pseudonymizer: config.GUARD_PSEUDONYM_KEY_FILE
              ? new Pseudonymizer(await readMasterKey(config.GUARD_PSEUDONYM_KEY_FILE), new RedisPseudonymVault(redis, { ttlSeconds: config.GUARD_PSEUDONYM_TTL_SECONDS }))
              : undefined,
          }),
        },
        {
          provide: PolicyStore,
          inject: [REDIS_CLIENT, GUARD_OPTIONS],
          useFactory: (redis: RedisClient, o: GuardModuleOptions) => new PolicyStore(redis as unknown as PolicyRedis, o.policyCacheMs),
        },
        GuardResponder,
      ],
    };
  }
}
