import { internalServiceError } from '../secrets-manager/errors.js';
import type { LocalLogger } from '../secrets-manager/rotation.js';
import { type SealedState, SealedStateFile } from './sealedFile.js';

/** Where a service of the twin keeps its state: a sealed file, or memory only. */
export interface ServiceStorage {
  /** The state file; in memory when absent. */
  path?: string;
  /** The twin's master key (required with `path`). */
  masterKey?: Buffer;
  log?: LocalLogger;
}

/**
 * Loads and saves one service's whole state. `save` is awaited before a write is
 * acknowledged; a failure answers HTTP 500 `InternalServiceError` (the SDK retries it).
 */
export class ServicePersistence<T> {
  readonly #file: SealedStateFile<T> | undefined;
  readonly #log: LocalLogger | undefined;

  constructor(service: string, storage: ServiceStorage) {
    if (storage.path && !storage.masterKey) {
      throw new Error(`${service}: a state file needs the master key`);
    }
    this.#file =
      storage.path && storage.masterKey
        ? new SealedStateFile<T>(storage.path, storage.masterKey, service)
        : undefined;
    this.#log = storage.log;
  }

  /** The stored state, if any. */
  load(): T | undefined {
    return this.#file?.load();
  }

  /** Makes `source`'s current state durable. */
  async save(source: SealedState<T>): Promise<void> {
    if (!this.#file) return;
    try {
      await this.#file.save(source);
    } catch (error) {
      this.#log?.({
        level: 'error',
        msg: 'persisting state failed',
        service: this.#file.service,
        error: (error as Error).name,
      });
      throw internalServiceError('The local twin could not persist its state.');
    }
  }

  /** Waits for pending saves. */
  async close(): Promise<void> {
    await this.#file?.settled();
  }
}
