import { SecretFormatError } from '../errors.js';
import type { AdminSecretReader } from '../kinds/CredentialKind.js';
import { AWSCURRENT, type SecretsGateway } from './SecretsGateway.js';

/** Options for {@link GatewayAdminSecrets}. */
export interface GatewayAdminSecretsOptions {
  /** How long a read value is reused; default 300 000 ms (a refused value is re-read at once). */
  maxAgeMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * {@link AdminSecretReader} over the engine's {@link SecretsGateway}: retries, endpoint and
 * redaction are the gateway's (every value it returns is registered for scrubbing first).
 * Values are cached by secret id for `maxAgeMs`, so a warm container rotating several
 * secrets with one admin reads it once; kinds pass `forceFetch` when the cached credential
 * is refused (the admin secret may have been rotated meanwhile).
 */
export class GatewayAdminSecrets implements AdminSecretReader {
  readonly #gateway: SecretsGateway;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, { value: string; readAt: number }>();

  constructor(gateway: SecretsGateway, options: GatewayAdminSecretsOptions = {}) {
    this.#gateway = gateway;
    this.#maxAgeMs = options.maxAgeMs ?? 300_000;
    this.#now = options.now ?? Date.now;
  }

  async current(
    secretId: string,
    options: { forceFetch?: boolean; signal?: AbortSignal; field?: string } = {},
  ): Promise<string> {
    const cached = this.#cache.get(secretId);
    if (cached && !options.forceFetch && this.#now() - cached.readAt <= this.#maxAgeMs) {
      // Registered again: the cache outlives the invocation whose scope registered it.
      this.#gateway.registerValue(cached.value);
      return cached.value;
    }
    const value = await this.#gateway.getValueByStage(secretId, AWSCURRENT, options.signal);
    if (value === undefined) {
      throw new SecretFormatError(
        options.field ?? 'masterarn',
        'names a secret without an AWSCURRENT value',
      );
    }
    this.#cache.set(secretId, { value, readAt: this.#now() });
    return value;
  }
}
