import type { BucketPurpose } from './bucket-names';
import type { ObjectStore } from './object-store';
import type { RegionalBucketRef, ResidencyPolicy } from './residency';

/** Resolves a tenant's regional bucket and creates it on first use, once per bucket for this instance. */
export class TenantBuckets {
  private readonly ensured = new Map<string, Promise<void>>();

  constructor(
    private readonly store: ObjectStore,
    private readonly residency: ResidencyPolicy,
    private readonly account: string,
  ) {}

  async bucketFor(tenant: string, purpose: BucketPurpose): Promise<RegionalBucketRef> {
    const target = this.residency.bucketFor(tenant, purpose, this.account);
    let pending = this.ensured.get(target.bucket);
    if (!pending) {
      pending = this.store.ensureBucket(target.bucket, target.region);
      this.ensured.set(target.bucket, pending);
      // A failure (store down) is not remembered: the next write tries again.
      pending.catch(() => this.ensured.delete(target.bucket));
    }
    await pending;
    return target;
  }
}
