import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { LocalKms } from '../kms/index.js';
import type { ObjectVersion, StoredEncryption } from './buckets.js';
import { notImplemented, preconditionFailed, S3Error } from './xml.js';

// Object bodies, SSE-KMS and conditional requests. With `x-amz-server-side-encryption:
// aws:kms` the body is encrypted with AES-256-GCM under a data key from the twin's KMS
// (GenerateDataKey semantics), the data key stored encrypted beside it, bound to the
// encryption context S3 uses by default (`aws:s3:arn` = the object's ARN) plus any context
// the request gives; reading the object decrypts it through KMS again.

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** The object's encryption context: S3's default plus the request's, if any. */
function encryptionContext(
  bucket: string,
  key: string,
  given: string | undefined,
): Record<string, string> {
  let extra: Record<string, string> = {};
  if (given !== undefined) {
    try {
      extra = JSON.parse(Buffer.from(given, 'base64').toString('utf8')) as Record<string, string>;
      if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) throw new Error();
    } catch {
      throw new S3Error(
        400,
        'InvalidArgument',
        'The header x-amz-server-side-encryption-context must be base64-encoded UTF-8 JSON.',
      );
    }
  }
  return { ...extra, 'aws:s3:arn': `arn:aws:s3:::${bucket}/${key}` };
}

/** A body ready to store: bytes, encryption record, ETag. */
export interface SealedBody {
  stored: Buffer;
  encryption: StoredEncryption;
  etag: string;
}

/** Encrypts (aws:kms) or keeps (AES256, the default) a PutObject body. */
export async function sealBody(
  kms: LocalKms,
  region: string,
  bucket: string,
  key: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
): Promise<SealedBody> {
  const algorithm = header(headers, 'x-amz-server-side-encryption') ?? 'AES256';
  if (algorithm === 'AES256') {
    if (header(headers, 'x-amz-server-side-encryption-aws-kms-key-id') !== undefined) {
      throw new S3Error(
        400,
        'InvalidArgument',
        'Server Side Encryption with KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms',
      );
    }
    const etag = `"${createHash('md5').update(body).digest('hex')}"`;
    return { stored: body, encryption: { algorithm: 'AES256' }, etag };
  }
  if (algorithm !== 'aws:kms') {
    if (algorithm === 'aws:kms:dsse')
      throw notImplemented('x-amz-server-side-encryption: aws:kms:dsse');
    throw new S3Error(400, 'InvalidArgument', 'The encryption method specified is not supported', {
      ArgumentName: 'x-amz-server-side-encryption',
      ArgumentValue: algorithm,
    });
  }
  const keyId = header(headers, 'x-amz-server-side-encryption-aws-kms-key-id');
  let kmsKey: ReturnType<LocalKms['ring']['resolve']>;
  if (keyId === undefined || keyId === 'alias/aws/s3') {
    kmsKey = await kms.managedKey(region, 's3');
  } else {
    try {
      kmsKey = kms.ring.resolve(region, keyId);
    } catch {
      throw new S3Error(400, 'KMS.NotFoundException', `Invalid keyId ${keyId}`);
    }
  }
  const context = encryptionContext(
    bucket,
    key,
    header(headers, 'x-amz-server-side-encryption-context'),
  );
  const dataKey = randomBytes(32);
  const encryptedDataKey = kms.ring.encrypt(kmsKey, dataKey, context);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
  const stored = Buffer.concat([cipher.update(body), cipher.final()]);
  dataKey.fill(0);
  // As with AWS, the ETag of an SSE-KMS object is not the MD5 of its plaintext.
  const etag = `"${createHash('md5').update(stored).digest('hex')}"`;
  return {
    stored,
    etag,
    encryption: {
      algorithm: 'aws:kms',
      keyArn: kmsKey.arn,
      encryptedDataKey: encryptedDataKey.toString('base64'),
      context,
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
    },
  };
}

/** The plaintext of a stored version (decrypted through KMS for aws:kms). */
export function openBody(kms: LocalKms, region: string, version: ObjectVersion): Buffer {
  const stored = Buffer.from(version.body, 'base64');
  const encryption = version.encryption;
  if (encryption?.algorithm !== 'aws:kms') return stored;
  const { plaintext: dataKey } = kms.ring.decrypt(
    region,
    Buffer.from(encryption.encryptedDataKey ?? '', 'base64'),
    encryption.context ?? {},
  );
  const decipher = createDecipheriv(
    'aes-256-gcm',
    dataKey,
    Buffer.from(encryption.iv ?? '', 'base64'),
  );
  decipher.setAuthTag(Buffer.from(encryption.tag ?? '', 'base64'));
  const plaintext = Buffer.concat([decipher.update(stored), decipher.final()]);
  dataKey.fill(0);
  return plaintext;
}

/** The SSE headers S3 echoes on PutObject, GetObject and HeadObject. */
export function encryptionHeaders(
  encryption: StoredEncryption | undefined,
): Record<string, string> {
  if (!encryption) return {};
  if (encryption.algorithm === 'AES256') return { 'x-amz-server-side-encryption': 'AES256' };
  return {
    'x-amz-server-side-encryption': 'aws:kms',
    'x-amz-server-side-encryption-aws-kms-key-id': encryption.keyArn ?? '',
  };
}

function normaliseTag(tag: string): string {
  return tag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** Whether an `If-Match`/`If-None-Match` value matches an ETag (`*`, or a list of tags). */
export function etagMatches(condition: string, etag: string): boolean {
  const wanted = normaliseTag(etag);
  return condition.split(',').some((tag) => tag.trim() === '*' || normaliseTag(tag) === wanted);
}

/**
 * PutObject's conditions (conditional writes): `If-None-Match: *` fails with 412 when the key
 * has a current object; `If-Match` fails with 404 NoSuchKey when there is none and with 412
 * when its ETag differs. Other `If-None-Match` values are not implemented by S3 either.
 */
export function checkWriteConditions(
  headers: IncomingHttpHeaders,
  key: string,
  current: ObjectVersion | undefined,
): void {
  const live = current && !current.deleteMarker ? current : undefined;
  const ifNoneMatch = header(headers, 'if-none-match');
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*') notImplementedHeader('If-None-Match');
    if (live) throw preconditionFailed('If-None-Match');
  }
  const ifMatch = header(headers, 'if-match');
  if (ifMatch !== undefined) {
    if (!live) {
      throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
    }
    if (!etagMatches(ifMatch, live.etag)) throw preconditionFailed('If-Match');
  }
}

function notImplementedHeader(name: string): never {
  throw notImplemented(`${name} with a value other than *`);
}

function parseDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : time;
}

/**
 * GetObject/HeadObject conditions as the API reference gives them (RFC 7232): `If-Match`
 * false → 412; else `If-Unmodified-Since` false → 412; `If-None-Match` true → 304; else
 * `If-Modified-Since` false → 304.
 */
export function checkReadConditions(headers: IncomingHttpHeaders, version: ObjectVersion): void {
  const modified = Math.floor(version.lastModified / 1000) * 1000;
  const ifMatch = header(headers, 'if-match');
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, version.etag)) throw preconditionFailed('If-Match');
  } else {
    const since = parseDate(header(headers, 'if-unmodified-since'));
    if (since !== undefined && modified > since) throw preconditionFailed('If-Unmodified-Since');
  }
  const notModified = () =>
    new S3Error(
      304,
      'NotModified',
      'Not Modified',
      {},
      {
        ETag: version.etag,
        'Last-Modified': new Date(version.lastModified).toUTCString(),
      },
    );
  const ifNoneMatch = header(headers, 'if-none-match');
  if (ifNoneMatch !== undefined) {
    if (etagMatches(ifNoneMatch, version.etag)) throw notModified();
  } else {
    const since = parseDate(header(headers, 'if-modified-since'));
    if (since !== undefined && modified <= since) throw notModified();
  }
}
