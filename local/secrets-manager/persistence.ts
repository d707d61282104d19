import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { SecretRecord, SecretValue, StoreSnapshot, VersionRecord } from './model.js';

/** Environment variable holding the master key: base64 of 32 random bytes. */
export const MASTER_KEY_ENV = 'ROTATOR_LOCAL_MASTER_KEY';

const FORMAT = 'rotator-local-secrets-manager/v1';

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

interface PersistedVersion extends Omit<VersionRecord, 'value'> {
  value?: { kind: SecretValue['kind']; envelope: Envelope };
}

interface PersistedFile {
  format: string;
  /** Identifies the master key (hash), so a wrong key is reported as such. */
  masterKeyId: string;
  secrets: (Omit<SecretRecord, 'versions'> & { versions: PersistedVersion[] })[];
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
  return Buffer.from(`${FORMAT}\n${purpose}\n${arn}\n${versionId}`, 'utf8');
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

function keyId(masterKey: Buffer): string {
  return createHash('sha256')
    .update('rotator-local-master-key-id')
    .update(masterKey)
    .digest('hex')
    .slice(0, 16);
}

/**
 * The encrypted state file. `save` writes a temporary file, fsyncs it, renames it over the
 * state file and fsyncs the directory, so after `save` resolves the state survives a crash
 * or power loss, and a crash during `save` leaves the previous state intact. Saves are
 * serialised; each save writes the snapshot taken when it runs, so it includes every change
 * made before it was requested.
 */
export class StateFile {
  private chain: Promise<void> = Promise.resolve();
  /** Versions are immutable once they hold a value, so each is encrypted once. */
  private readonly envelopes = new Map<string, { value: SecretValue; envelope: Envelope }>();
  private closed = false;

  constructor(
    readonly path: string,
    private readonly masterKey: Buffer,
  ) {}

  /** Reads and decrypts the state; `undefined` when the file does not exist yet. */
  load(): StoreSnapshot | undefined {
    if (!existsSync(this.path)) return undefined;
    let file: PersistedFile;
    try {
      file = JSON.parse(readFileSync(this.path, 'utf8')) as PersistedFile;
    } catch (cause) {
      throw new StateFileError(`State file ${this.path} is not valid JSON.`, { cause });
    }
    if (file.format !== FORMAT)
      throw new StateFileError(`State file ${this.path} has an unknown format.`);
    if (file.masterKeyId !== keyId(this.masterKey)) {
      throw new StateFileError(`State file ${this.path} was written with a different master key.`);
    }
    try {
      return {
        secrets: file.secrets.map((secret) => ({
          ...secret,
          versions: secret.versions.map((v) => {
            const { value, ...rest } = v;
            if (!value) return rest;
            const plain = decryptValue(
              this.masterKey,
              secret.arn,
              v.versionId,
              value.kind,
              value.envelope,
            );
            this.envelopes.set(`${secret.arn}\n${v.versionId}`, {
              value: plain,
              envelope: value.envelope,
            });
            return { ...rest, value: plain };
          }),
        })),
      };
    } catch (cause) {
      throw new StateFileError(
        `State file ${this.path} could not be decrypted (tampered or corrupt).`,
        { cause },
      );
    }
  }

  /** Persists the snapshot `take()` returns when this save runs; resolves once durable. */
  save(take: () => StoreSnapshot): Promise<void> {
    const run = this.chain.then(() => this.write(take()));
    // A failed save must not poison later ones; the caller of this save sees the failure.
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Waits for pending saves and refuses later ones. */
  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
  }

  private encode(snapshot: StoreSnapshot): PersistedFile {
    const live = new Set<string>();
    const secrets = snapshot.secrets.map((secret) => ({
      ...secret,
      versions: secret.versions.map((v): PersistedVersion => {
        const { value, ...rest } = v;
        if (!value) return rest;
        const id = `${secret.arn}\n${v.versionId}`;
        live.add(id);
        let cached = this.envelopes.get(id);
        if (!cached || JSON.stringify(cached.value) !== JSON.stringify(value)) {
          cached = {
            value,
            envelope: encryptValue(this.masterKey, secret.arn, v.versionId, value),
          };
          this.envelopes.set(id, cached);
        }
        return { ...rest, value: { kind: value.kind, envelope: cached.envelope } };
      }),
    }));
    for (const id of this.envelopes.keys()) if (!live.has(id)) this.envelopes.delete(id);
    return { format: FORMAT, masterKeyId: keyId(this.masterKey), secrets };
  }

  private async write(snapshot: StoreSnapshot): Promise<void> {
    if (this.closed) throw new StateFileError('The state file is closed.');
    const data = JSON.stringify(this.encode(snapshot));
    const dir = dirname(this.path);
    mkdirSync(dir, { recursive: true });
    const temp = join(
      dir,
      `.${basename(this.path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
    );
    try {
      const handle = await open(temp, 'w', 0o600);
      try {
        await handle.writeFile(data, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.path);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    // The rename is durable only once the directory entry is on disk.
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  }
}
