import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { ConfigurationError, SecretFormatError } from '../../errors.js';

/** Options for {@link ProviderDeclarationSource}. */
export interface ProviderDeclarationSourceOptions {
  /** SSM client; Powertools builds a default one (on first use) when absent. */
  ssmClient?: SSMClient;
  /** How long a parameter's declaration is cached, in seconds; default 300. */
  maxAgeSeconds?: number;
  /**
   * The only parameter path declarations may be read from (`API_KEY_DECLARATION_PATH`, the
   * path the function's role may read); absent: any parameter.
   */
  allowedPath?: string;
}

/**
 * `API_KEY_DECLARATION_PATH`: the SSM path (`/rotator/providers/`) under which provider
 * declarations may be kept, the same path the template grants `ssm:GetParameter` on. A
 * secret naming a parameter elsewhere is refused by name instead of failing on
 * AccessDenied. Unset: any parameter (local use, where no role limits the reads).
 *
 * @throws ConfigurationError naming `API_KEY_DECLARATION_PATH`.
 */
export function declarationPathFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env.API_KEY_DECLARATION_PATH?.trim();
  if (value === undefined || value === '') return undefined;
  if (!/^\/([A-Za-z0-9_.-]+\/)+$/.test(value)) {
    throw new ConfigurationError(
      'API_KEY_DECLARATION_PATH',
      'must be an SSM parameter path that starts and ends with "/" (e.g. /rotator/providers/)',
    );
  }
  return value;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * Resolves the secret's `provider` field to a provider declaration. The declaration is
 * either written inline, or kept in an SSM parameter (String or SecureString, JSON) that the
 * secret names: `"provider": { "ssmParameter": "/rotator/providers/vendor" }`. A parameter
 * lets many secrets share one declaration, and keeps the declaration (where the admin
 * credential is sent) out of reach of whoever can write the secret; so a reference may not
 * carry other fields that would override it.
 */
export class ProviderDeclarationSource {
  readonly #options: ProviderDeclarationSourceOptions;
  #ssm: SSMProvider | undefined;

  constructor(options: ProviderDeclarationSourceOptions = {}) {
    this.#options = options;
  }

  /**
   * The declaration for `provider`.
   *
   * @throws SecretFormatError naming `provider` or `provider.ssmParameter`.
   */
  async resolve(provider: unknown): Promise<Record<string, unknown>> {
    if (!isObject(provider)) throw new SecretFormatError('provider', 'must be an object');
    if (provider.ssmParameter === undefined) return provider;
    const name = provider.ssmParameter;
    if (typeof name !== 'string' || !/^[A-Za-z0-9_.\-/]{1,2048}$/.test(name)) {
      throw new SecretFormatError('provider.ssmParameter', 'must be an SSM parameter name');
    }
    const allowed = this.#options.allowedPath;
    if (allowed !== undefined && !name.startsWith(allowed)) {
      throw new SecretFormatError(
        'provider.ssmParameter',
        `must name a parameter under API_KEY_DECLARATION_PATH (${allowed}), the only path this function may read`,
      );
    }
    const extra = Object.keys(provider).filter((key) => key !== 'ssmParameter');
    if (extra.length > 0) {
      throw new SecretFormatError(
        'provider',
        `must hold only "ssmParameter" when it refers to a parameter (found ${extra.join(', ')})`,
      );
    }
    // Built on first use, so secrets with inline declarations never create an SSM client.
    this.#ssm ??= new SSMProvider(
      this.#options.ssmClient ? { awsSdkV3Client: this.#options.ssmClient } : {},
    );
    let declaration: unknown;
    try {
      declaration = await this.#ssm.get(name, {
        transform: 'json',
        decrypt: true,
        maxAge: this.#options.maxAgeSeconds ?? 300,
      });
    } catch (error) {
      throw new SecretFormatError(
        'provider.ssmParameter',
        `names a parameter that could not be read as JSON (${name})`,
        { cause: error },
      );
    }
    if (!isObject(declaration)) {
      throw new SecretFormatError(
        'provider.ssmParameter',
        `names a parameter that is not a JSON object (${name})`,
      );
    }
    return declaration;
  }
}
