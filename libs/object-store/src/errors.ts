/** The object (or its bucket) does not exist. */
export class ObjectNotFoundError extends Error {
  constructor(
    readonly bucket: string,
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`object ${bucket}/${key} not found`, options);
    this.name = 'ObjectNotFoundError';
  }
}

/** The stored bytes no longer hash to the sha256 the reference recorded: changed or corrupted since written. */
export class ObjectIntegrityError extends Error {
  constructor(
    readonly bucket: string,
    readonly key: string,
    readonly expectedSha256: string,
    readonly actualSha256: string,
  ) {
    super(
      `object ${bucket}/${key} failed its integrity check: expected sha256 ${expectedSha256}, ` +
        `the stored bytes hash to ${actualSha256} (changed or corrupted since it was written)`,
    );
    this.name = 'ObjectIntegrityError';
  }
}

/** A bucket name part, or the assembled name, breaks the naming scheme or S3's rules. */
export class BucketNameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BucketNameError';
  }
}

/** The data residency configuration is malformed. */
export class ResidencyConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResidencyConfigError';
  }
}
