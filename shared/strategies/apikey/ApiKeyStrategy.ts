import type { GenerateRequest, PendingRequest, RotationStrategy } from '../../engine/types.js';
import { parseSecretObject } from '../../secrets/secretJson.js';
import type { ApiKeyModeStrategy, ApiKeySecret } from './ApiKeyModeStrategy.js';
import { declarationPathFromEnv } from './declarations.js';
import { keyFormatFromEnv } from './keyFormat.js';
import { type ProviderKeyDependencies, ProviderKeyStrategy } from './ProviderKeyStrategy.js';
import { allowedHostsFromEnv } from './providers.js';
import { SelfIssuedKeyStrategy } from './SelfIssuedKeyStrategy.js';
import {
  type ApiKeyMode,
  apiKeyFieldFromEnv,
  apiKeyModeFromEnv,
  requiredStringField,
  resolveApiKeyMode,
} from './secretShape.js';

/** Options for {@link ApiKeyStrategy}; everything has a production default. */
export interface ApiKeyStrategyOptions extends ProviderKeyDependencies {
  /** Environment to read configuration from; `process.env` by default. Validated in the constructor. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Rotates API keys kept in a JSON secret (`{"apiKey": "...", ...}`; unknown fields are kept).
 * Each hook parses the value it works on, resolves that secret's mode once (its `mode` field,
 * else a `provider` object, else `API_KEY_MODE`) and hands the parsed value to the strategy
 * of that mode: {@link SelfIssuedKeyStrategy} or {@link ProviderKeyStrategy}.
 *
 * @example
 * ```ts
 * export const handler = rotationHandler(new ApiKeyStrategy({ client }), { client });
 * ```
 */
export class ApiKeyStrategy implements RotationStrategy {
  readonly name = 'api-key';
  readonly #defaultMode: ApiKeyMode | undefined;
  readonly #keyField: string;
  readonly #byMode: Readonly<Record<ApiKeyMode, ApiKeyModeStrategy>>;

  constructor(options: ApiKeyStrategyOptions = {}) {
    const { env = process.env, ...providerOptions } = options;
    // All environment settings are validated here, at start-up, with errors naming the variable.
    const defaultFormat = keyFormatFromEnv(env);
    this.#defaultMode = apiKeyModeFromEnv(env);
    const keyField = apiKeyFieldFromEnv(env);
    this.#keyField = keyField;
    this.#byMode = {
      'self-issued': new SelfIssuedKeyStrategy({ keyField, defaultFormat }),
      provider: new ProviderKeyStrategy({
        ...providerOptions,
        keyField,
        allowedHosts: allowedHostsFromEnv(env),
        declarationPath: declarationPathFromEnv(env),
      }),
    };
  }

  /** Decides the mode from AWSCURRENT: the pending value is built from it. */
  async generatePending(request: GenerateRequest): Promise<string> {
    const current = parseSecretObject(await request.current());
    return JSON.stringify(await this.#strategyFor(current).generatePending(request, current));
  }

  /** The mode's `setSecret`; a mode with nothing to apply still has its key field checked. */
  async apply(request: PendingRequest): Promise<void> {
    const pending = await this.#readPending(request);
    await this.#strategyFor(pending).apply?.(request, pending);
  }

  /** The mode's `testSecret`. */
  async verify(request: PendingRequest): Promise<void> {
    const pending = await this.#readPending(request);
    await this.#strategyFor(pending).verify(request, pending);
  }

  /** The mode's `finishSecret` clean-up, if it has one; the promoted value decides the mode. */
  async afterPromotion(request: PendingRequest): Promise<void> {
    const promoted = await this.#readPending(request);
    await this.#strategyFor(promoted).afterPromotion?.(request, promoted);
  }

  #strategyFor(secret: ApiKeySecret): ApiKeyModeStrategy {
    return this.#byMode[resolveApiKeyMode(secret, this.#defaultMode)];
  }

  /** The pending value, parsed, with its key present and registered for log scrubbing. */
  async #readPending(request: PendingRequest): Promise<ApiKeySecret> {
    const pending = parseSecretObject(await request.pending());
    const key = requiredStringField(pending, this.#keyField);
    // The engine registers values under secret-sounding names; a renamed key field may not be one.
    request.registerSecret(key);
    return pending;
  }
}
