import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { RotationError } from '../errors.js';

/**
 * Envelope encryption of a value stored in S3 (`format=envelope`): the value is encrypted
 * with AES-256-GCM under a fresh data key from KMS `GenerateDataKey`, and the data key,
 * encrypted by KMS, travels beside it. A reader needs `kms:Decrypt` on the key, not only S3
 * read access. The KMS encryption context binds the data key to the object
 * (`rotator:s3-object` = `<bucket>/<key>`), so an envelope copied to another key does not
 * decrypt.
 */

/** The JSON document an envelope object holds. */
export interface Envelope {
  v: 1;
  alg: 'AES-256-GCM';
  /** ARN of the KMS key that encrypted the data key. */
  kmsKeyId: string;
  /** base64 of the KMS ciphertext blob of the data key. */
  encryptedDataKey: string;
  /** base64 of the 12-byte GCM nonce. */
  iv: string;
  /** base64 of the 16-byte GCM authentication tag. */
  tag: string;
  /** base64 of the encrypted value. */
  ciphertext: string;
}

/** An envelope could not be read or opened: says why, never holds the value. */
export class EnvelopeError extends RotationError {}

/** The KMS encryption context that binds an envelope's data key to its object. */
export function envelopeContext(bucket: string, key: string): Record<string, string> {
  return { 'rotator:s3-object': `${bucket}/${key}` };
}

/** Encrypts `value` under a new data key of `kmsKeyId`; the plaintext key is zeroed after use. */
export async function sealEnvelope(
  kms: KMSClient,
  kmsKeyId: string,
  context: Record<string, string>,
  value: string,
  signal?: AbortSignal,
): Promise<Envelope> {
  const out = await kms.send(
    new GenerateDataKeyCommand({ KeyId: kmsKeyId, KeySpec: 'AES_256', EncryptionContext: context }),
    { abortSignal: signal },
  );
  if (!out.Plaintext || !out.CiphertextBlob) {
    throw new EnvelopeError('KMS GenerateDataKey returned no data key');
  }
  const dataKey = Buffer.from(out.Plaintext);
  try {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
    const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return {
      v: 1,
      alg: 'AES-256-GCM',
      kmsKeyId: out.KeyId ?? kmsKeyId,
      encryptedDataKey: Buffer.from(out.CiphertextBlob).toString('base64'),
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      ciphertext: ciphertext.toString('base64'),
    };
  } finally {
    dataKey.fill(0);
    out.Plaintext.fill(0);
  }
}

/** Parses an envelope document; {@link EnvelopeError} when it is not one. */
export function parseEnvelope(text: string): Envelope {
  let doc: Partial<Envelope>;
  try {
    doc = JSON.parse(text) as Partial<Envelope>;
  } catch {
    throw new EnvelopeError('The object is not an envelope: not JSON');
  }
  if (doc?.v !== 1 || doc.alg !== 'AES-256-GCM') {
    throw new EnvelopeError('The object is not a version 1 AES-256-GCM envelope');
  }
  for (const field of ['kmsKeyId', 'encryptedDataKey', 'iv', 'tag', 'ciphertext'] as const) {
    if (typeof doc[field] !== 'string') {
      throw new EnvelopeError(`The envelope's field "${field}" is missing`);
    }
  }
  return doc as Envelope;
}

/** Decrypts the data key with KMS and returns the value; the plaintext key is zeroed after use. */
export async function openEnvelope(
  kms: KMSClient,
  envelope: Envelope,
  context: Record<string, string>,
  signal?: AbortSignal,
): Promise<string> {
  const out = await kms.send(
    new DecryptCommand({
      CiphertextBlob: Buffer.from(envelope.encryptedDataKey, 'base64'),
      KeyId: envelope.kmsKeyId,
      EncryptionContext: context,
    }),
    { abortSignal: signal },
  );
  if (!out.Plaintext) throw new EnvelopeError('KMS Decrypt returned no data key');
  const dataKey = Buffer.from(out.Plaintext);
  try {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(envelope.iv, 'base64'));
    decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
    return Buffer.concat([
      decipher.update(Buffer.from(envelope.ciphertext, 'base64')),
      decipher.final(),
    ]).toString('utf8');
  } catch (error) {
    throw new EnvelopeError('The envelope does not decrypt: wrong key, context or tampered', {
      cause: error,
    });
  } finally {
    dataKey.fill(0);
    out.Plaintext.fill(0);
  }
}
