import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretFormatError } from '../../errors.js';
import type { AdminSecretReader, KindContext } from '../../kinds/CredentialKind.js';
import { GatewayAdminSecrets } from '../../secrets/AdminSecrets.js';
import { createSecretsManagerClient } from '../../secrets/client.js';
import { SecretsGateway } from '../../secrets/SecretsGateway.js';
import { ProviderCallError } from './errors.js';
import type { AdminCredentialConfig } from './httpDeclaration.js';

/** Options for {@link AdminCredentialSource}: a reader, or a client to build one on. */
export interface AdminCredentialSourceOptions {
  /** The engine's admin secret reader ({@link KindContext.adminSecrets}). */
  reader?: AdminSecretReader;
  /** Without `reader`: a Secrets Manager client read through a gateway of its own (the CLI). */
  client?: SecretsManagerClient;
}

/**
 * Reads provider admin credentials from Secrets Manager (`AWSCURRENT`) through an
 * {@link AdminSecretReader}; a provider that refuses the cached credential triggers a
 * `forceFetch` (the admin secret may have been rotated since).
 */
export class AdminCredentialSource {
  readonly #reader: AdminSecretReader;

  constructor(options: AdminCredentialSourceOptions = {}) {
    this.#reader =
      options.reader ??
      new GatewayAdminSecrets(
        new SecretsGateway({ client: options.client ?? createSecretsManagerClient(process.env) }),
      );
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
      raw = await this.#reader.current(config.secretId, {
        forceFetch: options.forceFetch,
        field: 'provider.admin.secretId',
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
