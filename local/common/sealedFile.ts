import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { StateFileError } from '../secrets-manager/masterKey.js';
import { writeAtomically } from './atomicFile.js';

// The state of KMS, Parameter Store and S3 in the twin is small next to a laptop's disk and
// changes rarely, so each service keeps one file holding its whole state, sealed as one
// AES-256-GCM record under a key derived from the master key (HKDF, the service's name as
// info) and rewritten atomically on every acknowledged write. The service name is bound as
// additional authenticated data, so one service's file cannot be passed off as another's.

const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT = 'rotator-local-sealed-state/v1';

/** Something whose whole state is one JSON value. */
export interface SealedState<T> {
  /** The state to write (plain JSON). */
  snapshot(): T;
}

/**
 * One service's state file, sealed under the twin's master key. Saves are serialised: each
 * writes the state as it is when the write starts, and resolves once that is on disk.
 */
export class SealedStateFile<T> {
  readonly #key: Buffer;
  readonly #aad: Buffer;
  #writing: Promise<void> = Promise.resolve();
  #queued: Promise<void> | undefined;

  constructor(
    readonly path: string,
    masterKey: Buffer,
    readonly service: string,
  ) {
    this.#key = Buffer.from(
      hkdfSync('sha256', masterKey, Buffer.alloc(0), `rotator-local ${service} state`, 32),
    );
    this.#aad = Buffer.from(`${FORMAT}\n${service}`, 'utf8');
  }

  /** The stored state, or `undefined` when the file does not exist yet. */
  load(): T | undefined {
    if (!existsSync(this.path)) return undefined;
    const bytes = Buffer.from(readFileSync(this.path, 'utf8').trim(), 'base64');
    try {
      if (bytes.length < IV_BYTES + TAG_BYTES) throw new Error('too short');
      const decipher = createDecipheriv('aes-256-gcm', this.#key, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(this.#aad);
      decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)),
        decipher.final(),
      ]);
      return JSON.parse(plain.toString('utf8')) as T;
    } catch (cause) {
      throw new StateFileError(
        `State file ${this.path} (${this.service}) could not be decrypted: wrong master key, tampered or corrupt.`,
        { cause },
      );
    }
  }

  /** Writes `source`'s state; concurrent calls share the next write. */
  save(source: SealedState<T>): Promise<void> {
    if (this.#queued) return this.#queued;
    const queued = this.#writing
      .catch(() => undefined)
      .then(() => {
        this.#queued = undefined;
        return writeAtomically(this.path, this.#seal(source.snapshot()));
      });
    this.#queued = queued;
    this.#writing = queued;
    return queued;
  }

  /** Resolves once every save requested so far has finished. */
  async settled(): Promise<void> {
    await this.#writing.catch(() => undefined);
  }

  #seal(state: T): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(this.#aad);
    const data = Buffer.concat([cipher.update(JSON.stringify(state), 'utf8'), cipher.final()]);
    return `${Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64')}\n`;
  }
}
