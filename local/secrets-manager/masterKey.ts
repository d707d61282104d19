import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SecretValue } from './model.js';

/**
 * The twin's master key and the envelope encryption of secret values at rest: where the key
 * comes from, how a value is sealed under a wrapped data key, and the key's id that a state
 * file records. The state file itself (snapshot and journal) is persistence.ts.
 */

/** Bound into every value envelope's AAD: the state file's first format name. */
export const ENVELOPE_FORMAT = 'rotator-local-secrets-manager/v1';

/** Environment variable holding the master key: base64 of 32 random bytes. */
export const MASTER_KEY_ENV = 'ROTATOR_LOCAL_MASTER_KEY';

/** The state file cannot be read: wrong master key, corrupt or foreign file. */
export class StateFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StateFileError';
  }
}

/**
 * One AES-256-GCM envelope: the value encrypted under a fresh data key, and that data key
 * encrypted ("wrapped") under the master key. Both bind the secret ARN and version id as
 * additional authenticated data, so an envelope cannot be moved to another version.
 */
export interface Envelope {
  wrappedKey: string;
  iv: string;
  tag: string;
  ciphertext: string;
}

/** Decodes and checks a base64 master key. */
export function parseMasterKey(base64: string): Buffer {
  const key = Buffer.from(base64.trim(), 'base64');
  if (key.length !== 32) {
    throw new StateFileError(
      `The master key must be base64 of exactly 32 bytes (got ${key.length}).`,
    );
  }
  return key;
}

/**
 * Finds the master key: `ROTATOR_LOCAL_MASTER_KEY`, else the key file; if neither exists and
 * `generate` is set, writes a new random key to the key file with mode 0600.
 */
export function loadMasterKey(options: {
  env?: NodeJS.ProcessEnv;
  keyFile?: string;
  generate?: boolean;
}): Buffer {
  const fromEnv = (options.env ?? process.env)[MASTER_KEY_ENV];
  if (fromEnv) return parseMasterKey(fromEnv);
  const { keyFile } = options;
  if (!keyFile)
    throw new StateFileError(`No master key: set ${MASTER_KEY_ENV} or give a key file.`);
  if (existsSync(keyFile)) return parseMasterKey(readFileSync(keyFile, 'utf8'));
  if (!options.generate) throw new StateFileError(`Master key file ${keyFile} does not exist.`);
  mkdirSync(dirname(keyFile), { recursive: true });
  const key = randomBytes(32);
  writeFileSync(keyFile, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(keyFile, 0o600);
  return key;
}

function aad(arn: string, versionId: string, purpose: string): Buffer {
  return Buffer.from(`${ENVELOPE_FORMAT}\n${purpose}\n${arn}\n${versionId}`, 'utf8');
}

function seal(
  key: Buffer,
  plaintext: Buffer,
  additional: Buffer,
): { iv: Buffer; tag: Buffer; data: Buffer } {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(additional);
  const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, tag: cipher.getAuthTag(), data };
}

function open_(key: Buffer, iv: Buffer, tag: Buffer, data: Buffer, additional: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(additional);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(data), decipher.final()]);
}

/** Encrypts one value under a fresh data key wrapped by the master key. */
export function encryptValue(
  masterKey: Buffer,
  arn: string,
  versionId: string,
  value: SecretValue,
): Envelope {
  const dataKey = randomBytes(32);
  const plaintext =
    value.kind === 'string' ? Buffer.from(value.text, 'utf8') : Buffer.from(value.base64, 'base64');
  const sealed = seal(dataKey, plaintext, aad(arn, versionId, 'value'));
  const wrapped = seal(masterKey, dataKey, aad(arn, versionId, 'data-key'));
  dataKey.fill(0);
  return {
    wrappedKey: Buffer.concat([wrapped.iv, wrapped.tag, wrapped.data]).toString('base64'),
    iv: sealed.iv.toString('base64'),
    tag: sealed.tag.toString('base64'),
    ciphertext: sealed.data.toString('base64'),
  };
}

/** Decrypts an envelope made by {@link encryptValue}. */
export function decryptValue(
  masterKey: Buffer,
  arn: string,
  versionId: string,
  kind: SecretValue['kind'],
  envelope: Envelope,
): SecretValue {
  const wrapped = Buffer.from(envelope.wrappedKey, 'base64');
  const dataKey = open_(
    masterKey,
    wrapped.subarray(0, 12),
    wrapped.subarray(12, 28),
    wrapped.subarray(28),
    aad(arn, versionId, 'data-key'),
  );
  const plaintext = open_(
    dataKey,
    Buffer.from(envelope.iv, 'base64'),
    Buffer.from(envelope.tag, 'base64'),
    Buffer.from(envelope.ciphertext, 'base64'),
    aad(arn, versionId, 'value'),
  );
  dataKey.fill(0);
  return kind === 'string'
    ? { kind, text: plaintext.toString('utf8') }
    : { kind, base64: plaintext.toString('base64') };
}

export function keyId(masterKey: Buffer): string {
  return createHash('sha256')
    .update('rotator-local-master-key-id')
    .update(masterKey)
    .digest('hex')
    .slice(0, 16);
}
