import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretFormatError } from '../../errors.js';
import { ProviderCallError } from './errors.js';
import type { AdminCredentialConfig } from './httpDeclaration.js';

/** Options for {@link AdminCredentialSource}. */
export interface AdminCredentialSourceOptions {
  /** Client to read with; Powertools builds a default one when absent. */
  client?: SecretsManagerClient;
  /** Cache lifetime in seconds; default 300 (a refused credential is re-read at once anyway). */
  maxAgeSeconds?: number;
}

/**
 * Reads provider admin credentials from Secrets Manager through Powertools' SecretsProvider.
 * Only `AWSCURRENT` is read, so Powertools' name-only cache key is correct here; a provider
 * that refuses the cached credential triggers a `forceFetch` (the admin secret may have been
 * rotated since).
 */
export class AdminCredentialSource {
  readonly #provider: SecretsProvider;
  readonly #maxAge: number;

  constructor(options: AdminCredentialSourceOptions = {}) {
    this.#provider = new SecretsProvider(options.client ? { awsSdkV3Client: options.client } : {});
    this.#maxAge = options.maxAgeSeconds ?? 300;
  }

  /**
   * The credential. `register` receives the whole secret string and the credential before
   * this returns, so they are scrubbed from every later log line.
   */
  async load(
    config: AdminCredentialConfig,
    options: { forceFetch: boolean; register: (value: string) => void },
  ): Promise<string> {
    let raw: unknown;
    try {
      raw = await this.#provider.get(config.secretId, {
        maxAge: this.#maxAge,
        forceFetch: options.forceFetch,
      });
    } catch (error) {
      throw new ProviderCallError(
        'admin-credential',
        `could not read the admin secret ${config.secretId}`,
        {
          retryable: true,
          cause: error,
        },
      );
    }
    if (typeof raw !== 'string' || raw === '') {
      throw new SecretFormatError(
        'provider.admin.secretId',
        'must name a secret with a non-empty SecretString',
      );
    }
    options.register(raw);
    if (config.field === undefined) return raw;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new SecretFormatError(
        'provider.admin.field',
        'is set but the admin secret is not JSON',
      );
    }
    const value = (parsed as Record<string, unknown> | null)?.[config.field];
    if (typeof value !== 'string' || value === '') {
      throw new SecretFormatError(
        'provider.admin.field',
        'does not name a non-empty string in the admin secret',
      );
    }
    options.register(value);
    return value;
  }
}
