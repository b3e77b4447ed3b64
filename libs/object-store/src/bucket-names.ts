import { BucketNameError } from './errors';

/** What a bucket holds; each purpose has its own bucket per account and region. */
export const BUCKET_PURPOSES = [
  /** Large payloads offloaded from audit events (tool results, transcripts, model inputs). */
  'payloads',
  /** Closed sessions and finished tasks, as JSON lines. */
  'archives',
  /** Audit ranges in batches, each with a manifest of its hashes. */
  'audit',
] as const;
export type BucketPurpose = (typeof BUCKET_PURPOSES)[number];

/**
 * An AWS-style region: `us-east-1`, `eu-west-1`, `ap-southeast-2`, `us-gov-west-1`. Deliberately narrow: it goes
 * into bucket names, so it may only hold lowercase letters, digits and single hyphens.
 */
export const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
/** The account (deployment or organisation) part: lowercase letters and digits in hyphen-separated words. */
export const ACCOUNT_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;

export interface RegionalBucketParts {
  account: string;
  region: string;
  purpose: BucketPurpose;
}

/**
 * `{account}-{region}-keelson-{purpose}`, e.g. `acme-eu-west-1-keelson-audit`: the name alone tells which
 * deployment, which region (data residency) and what is inside. Throws BucketNameError naming the bad part.
 */
export function regionalBucket({ account, region, purpose }: RegionalBucketParts): string {
  if (typeof account !== 'string' || !ACCOUNT_PATTERN.test(account)) {
    throw new BucketNameError(
      `bucket account "${String(account)}" is invalid: expected lowercase letters and digits in hyphen-separated words (e.g. acme or acme-prod)`,
    );
  }
  if (typeof region !== 'string' || !REGION_PATTERN.test(region)) {
    throw new BucketNameError(`bucket region "${String(region)}" is invalid: expected a region such as eu-west-1 or us-east-1`);
  }
  if (!(BUCKET_PURPOSES as readonly string[]).includes(purpose)) {
    throw new BucketNameError(`bucket purpose "${String(purpose)}" is invalid: expected one of ${BUCKET_PURPOSES.join(', ')}`);
  }
  const name = `${account}-${region}-keelson-${purpose}`;
  const problem = bucketNameProblem(name);
  if (problem) throw new BucketNameError(`bucket name "${name}" ${problem}${name.length > 63 ? ': shorten the account' : ''}`);
  return name;
}

/**
 * Why `name` breaks S3's general-purpose bucket naming rules, or undefined when it is fine. Dots are refused
 * even though S3 allows them, because they break TLS with virtual-hosted addressing.
 */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `is ${name.length} characters long; S3 allows 3 to 63`;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'must not be formatted as an IP address';
  if (!/^[a-z0-9-]+$/.test(name)) return 'may hold only lowercase letters, digits and hyphens';
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) return 'must begin and end with a letter or digit';
  for (const prefix of ['xn--', 'sthree-', 'amzn-s3-demo-']) if (name.startsWith(prefix)) return `must not begin with ${prefix}`;
  for (const suffix of ['-s3alias', '--ol-s3', '--x-s3', '--table-s3']) if (name.endsWith(suffix)) return `must not end with ${suffix}`;
  return undefined;
}
