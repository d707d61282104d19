import type { VersionValue } from './SecretsGateway.js';

/**
 * Values of secret versions, keyed by secret ARN and version id. A version's value can never
 * change once written (Secrets Manager refuses a second value for a version id), so a hit is
 * always correct; this saves the re-reads between the four invocations of one rotation,
 * which normally land on the same warm container. Bounded in size and age so values do not
 * linger in memory.
 */
export class VersionCache {
  readonly #entries = new Map<string, { value: VersionValue; storedAt: number }>();
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(options: { maxEntries?: number; ttlMs?: number; now?: () => number } = {}) {
    this.#maxEntries = options.maxEntries ?? 32;
    this.#ttlMs = options.ttlMs ?? 15 * 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** The cached value, or `undefined`. */
  get(secretArn: string, versionId: string): VersionValue | undefined {
    const key = `${secretArn}\n${versionId}`;
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (this.#now() - entry.storedAt > this.#ttlMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Remembers a value; evicts the oldest entry past the size bound. */
  set(secretArn: string, versionId: string, value: VersionValue): void {
    const key = `${secretArn}\n${versionId}`;
    this.#entries.delete(key);
    this.#entries.set(key, { value, storedAt: this.#now() });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  /** Forgets everything. */
  clear(): void {
    this.#entries.clear();
  }
}
