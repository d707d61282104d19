import type { KMSClient } from '@aws-sdk/client-kms';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  EnvelopeError,
  envelopeContext,
  openEnvelope,
  parseEnvelope,
} from '../shared/sync/envelope.js';

export { EnvelopeError };

/** Options of {@link readEnvelope}. */
export interface ReadEnvelopeOptions {
  /** S3 client (path-style for the local twin). */
  s3: S3Client;
  /** KMS client: the reader needs `kms:Decrypt` on the envelope's key. */
  kms: KMSClient;
  bucket: string;
  key: string;
  signal?: AbortSignal;
}

/**
 * Reads a value a rotation stored in S3 with `format=envelope` (docs/sync.md): gets the
 * object, decrypts its data key with KMS (bound to this bucket and key by the encryption
 * context) and the value with AES-256-GCM. The plaintext data key is zeroed after use.
 * Throws {@link EnvelopeError} for an object that is not an envelope or does not decrypt;
 * S3 and KMS errors are passed through (they name the bucket or key, never the value).
 *
 * @example
 * ```ts
 * const password = await readEnvelope({ s3, kms, bucket: 'acme-config', key: 'db.envelope' });
 * ```
 */
export async function readEnvelope(options: ReadEnvelopeOptions): Promise<string> {
  const out = await options.s3.send(
    new GetObjectCommand({ Bucket: options.bucket, Key: options.key }),
    { abortSignal: options.signal },
  );
  const text = await out.Body?.transformToString('utf8');
  if (text === undefined) throw new EnvelopeError('The object has no body');
  return openEnvelope(
    options.kms,
    parseEnvelope(text),
    envelopeContext(options.bucket, options.key),
    options.signal,
  );
}
