import { TENANT_ID_PATTERN } from '@keelson/contracts';
import { z } from 'zod';
import { REGION_PATTERN, regionalBucket, type BucketPurpose } from './bucket-names';
import { ResidencyConfigError } from './errors';

const region = z.string().regex(REGION_PATTERN, 'expected a region such as eu-west-1 or us-east-1');

/**
 * DATA_RESIDENCY: `{"default":"eu-west-1","tenants":{"acme":"us-east-1"}}`. A tenant's payloads, archives and
 * audit batches go to buckets in its region; tenants not listed use `default`.
 */
export const ResidencyConfigSchema = z
  .object({
    default: region,
    tenants: z.record(z.string().regex(TENANT_ID_PATTERN, 'expected a tenant id'), region).default({}),
  })
  .strict();
export type ResidencyConfig = z.input<typeof ResidencyConfigSchema>;

export interface RegionalBucketRef {
  bucket: string;
  region: string;
}

/** Which region holds each tenant's data. */
export class ResidencyPolicy {
  readonly defaultRegion: string;
  private readonly tenants: ReadonlyMap<string, string>;

  constructor(config: ResidencyConfig) {
    const parsed = ResidencyConfigSchema.safeParse(config);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.code === 'invalid_key' ? 'expected a tenant id' : i.message}`);
      throw new ResidencyConfigError(`invalid data residency configuration: ${issues.join('; ')}`);
    }
    this.defaultRegion = parsed.data.default;
    this.tenants = new Map(Object.entries(parsed.data.tenants));
  }

  /** Parses the DATA_RESIDENCY JSON; ResidencyConfigError on malformed JSON or a bad region or tenant. */
  static fromJson(json: string): ResidencyPolicy {
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch (err) {
      throw new ResidencyConfigError(`invalid data residency configuration: not JSON (${(err as Error).message})`);
    }
    return new ResidencyPolicy(value as ResidencyConfig);
  }

  regionFor(tenant: string): string {
    if (!TENANT_ID_PATTERN.test(tenant)) throw new Error(`invalid tenant id "${tenant}"`);
    return this.tenants.get(tenant) ?? this.defaultRegion;
  }

  /** The tenant's bucket for `purpose` under `account`, and the region it lives in. */
  bucketFor(tenant: string, purpose: BucketPurpose, account: string): RegionalBucketRef {
    const region = this.regionFor(tenant);
    return { bucket: regionalBucket({ account, region, purpose }), region };
  }

  /** Every region some tenant's data may go to (the default first). */
  regions(): string[] {
    return [...new Set([this.defaultRegion, ...this.tenants.values()])];
  }
}
