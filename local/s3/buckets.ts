import { randomBytes } from 'node:crypto';
import { noSuchBucket, noSuchKey, S3Error } from './xml.js';

// S3's model as far as the twin needs it: buckets (one account), each with keys whose
// versions are kept newest last. Versioning follows the user guide: a bucket that never had
// versioning holds one version per key, id "null"; with versioning Enabled every put adds a
// version with a fresh id and a delete adds a delete marker; Suspended puts and deletes
// replace the "null" version.

/** Server-side encryption of a stored object. */
export interface StoredEncryption {
  algorithm: 'aws:kms' | 'AES256';
  /** aws:kms: the key's ARN. */
  keyArn?: string;
  /** aws:kms: the data key encrypted by KMS (base64), with the context it is bound to. */
  encryptedDataKey?: string;
  context?: Record<string, string>;
  /** aws:kms: IV and GCM tag of the body (base64). */
  iv?: string;
  tag?: string;
}

/** One version of an object, or a delete marker. */
export interface ObjectVersion {
  versionId: string;
  deleteMarker: boolean;
  /** The stored bytes (base64): ciphertext under aws:kms. */
  body: string;
  /** Size of the object as the client sees it. */
  size: number;
  /** Quoted, as in the `ETag` header. */
  etag: string;
  contentType: string;
  metadata: Record<string, string>;
  /** Epoch milliseconds. */
  lastModified: number;
  encryption?: StoredEncryption;
}

/** One bucket. */
export interface BucketRecord {
  name: string;
  region: string;
  createdAt: number;
  versioning?: 'Enabled' | 'Suspended';
  /** Key → versions, newest last. */
  objects: Record<string, ObjectVersion[]>;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** A new version id (S3's are opaque URL-safe strings of 32 characters). */
export function newVersionId(): string {
  return randomBytes(24).toString('base64url');
}

/** The buckets of the account. */
export class BucketTable {
  readonly #buckets = new Map<string, BucketRecord>();

  /** Every bucket (for persistence). */
  all(): BucketRecord[] {
    return [...this.#buckets.values()];
  }

  /** Adds buckets read from the state file. */
  restore(buckets: BucketRecord[]): void {
    for (const bucket of buckets) this.#buckets.set(bucket.name, bucket);
  }

  /** The bucket, or `NoSuchBucket`. */
  get(name: string): BucketRecord {
    const bucket = this.#buckets.get(name);
    if (!bucket) throw noSuchBucket(name);
    return bucket;
  }

  /**
   * CreateBucket: `InvalidBucketName`, or `BucketAlreadyOwnedByYou` (409) when it exists,
   * except again in us-east-1, which answers 200.
   */
  create(name: string, region: string, now: number): BucketRecord {
    if (!BUCKET_NAME.test(name) || name.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(name)) {
      throw new S3Error(400, 'InvalidBucketName', 'The specified bucket is not valid.', {
        BucketName: name,
      });
    }
    const existing = this.#buckets.get(name);
    // "For legacy compatibility, if you re-create an existing bucket that you already own in
    // the North Virginia Region, Amazon S3 returns 200 OK" (BucketAlreadyOwnedByYou).
    if (existing && existing.region === 'us-east-1' && region === 'us-east-1') return existing;
    if (existing) {
      throw new S3Error(
        409,
        'BucketAlreadyOwnedByYou',
        'Your previous request to create the named bucket succeeded and you already own it.',
        { BucketName: name },
      );
    }
    const bucket: BucketRecord = { name, region, createdAt: now, objects: {} };
    this.#buckets.set(name, bucket);
    return bucket;
  }

  /** DeleteBucket: only an empty bucket (`BucketNotEmpty`, 409). */
  delete(name: string): void {
    const bucket = this.get(name);
    if (Object.keys(bucket.objects).length > 0) {
      throw new S3Error(409, 'BucketNotEmpty', 'The bucket you tried to delete is not empty', {
        BucketName: name,
      });
    }
    this.#buckets.delete(name);
  }
}

/** The current version of a key (possibly a delete marker), if any. */
export function currentVersion(bucket: BucketRecord, key: string): ObjectVersion | undefined {
  return bucket.objects[key]?.at(-1);
}

/** The version a GET/HEAD names: `versionId`, or the current one (404 when a delete marker). */
export function readableVersion(
  bucket: BucketRecord,
  key: string,
  versionId: string | undefined,
): ObjectVersion {
  const versions = bucket.objects[key] ?? [];
  if (versionId !== undefined) {
    const found = versions.find((v) => v.versionId === versionId);
    if (!found) {
      throw new S3Error(404, 'NoSuchVersion', 'The specified version does not exist.', {
        Key: key,
        VersionId: versionId,
      });
    }
    if (found.deleteMarker) {
      throw new S3Error(
        405,
        'MethodNotAllowed',
        'The specified method is not allowed against this resource.',
        { Method: 'GET', ResourceType: 'DeleteMarker' },
        { 'x-amz-delete-marker': 'true', 'x-amz-version-id': found.versionId },
      );
    }
    return found;
  }
  const current = versions.at(-1);
  if (!current) throw noSuchKey(key);
  if (current.deleteMarker) {
    throw noSuchKey(key, { 'x-amz-delete-marker': 'true', 'x-amz-version-id': current.versionId });
  }
  return current;
}

/** Adds a version as PutObject does under the bucket's versioning state; returns it. */
export function addVersion(
  bucket: BucketRecord,
  key: string,
  version: Omit<ObjectVersion, 'versionId'>,
): ObjectVersion {
  const versioned = bucket.versioning === 'Enabled';
  const added: ObjectVersion = { ...version, versionId: versioned ? newVersionId() : 'null' };
  const kept = (bucket.objects[key] ?? []).filter((v) => versioned || v.versionId !== 'null');
  bucket.objects[key] = [...kept, added];
  return added;
}

/**
 * DeleteObject. With `versionId`, removes that version for good; without, removes the object
 * (never versioned) or adds a delete marker. Returns the headers S3 answers with.
 */
export function deleteObject(
  bucket: BucketRecord,
  key: string,
  versionId: string | undefined,
  now: number,
): Record<string, string> {
  const versions = bucket.objects[key] ?? [];
  const dropEmpty = () => {
    if ((bucket.objects[key] ?? []).length === 0) delete bucket.objects[key];
  };
  if (versionId !== undefined) {
    const found = versions.find((v) => v.versionId === versionId);
    bucket.objects[key] = versions.filter((v) => v.versionId !== versionId);
    dropEmpty();
    return {
      'x-amz-version-id': versionId,
      ...(found?.deleteMarker ? { 'x-amz-delete-marker': 'true' } : {}),
    };
  }
  if (!bucket.versioning) {
    delete bucket.objects[key];
    return {};
  }
  const marker = addVersion(bucket, key, {
    deleteMarker: true,
    body: '',
    size: 0,
    etag: '',
    contentType: '',
    metadata: {},
    lastModified: now,
  });
  return { 'x-amz-delete-marker': 'true', 'x-amz-version-id': marker.versionId };
}
