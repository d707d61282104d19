import type { GenerateRequest, PendingRequest } from '../../engine/types.js';
import { SecretFormatError } from '../../errors.js';
import type { ApiKeyModeStrategy, ApiKeySecret } from './ApiKeyModeStrategy.js';
import {
  generateApiKey,
  type KeyFormat,
  keyFormatFromSecret,
  keyFormatProblem,
} from './keyFormat.js';
import { API_KEY_FIELDS } from './secretShape.js';

/** Options for {@link SelfIssuedKeyStrategy}, read from the environment by {@link ApiKeyStrategy}. */
export interface SelfIssuedKeyStrategyOptions {
  /** The secret field holding the key (`API_KEY_FIELD`). */
  keyField: string;
  /** The deployment's key format; a secret's `keyFormat` field overrides parts of it. */
  defaultFormat: KeyFormat;
}

/**
 * Self-issued keys: generated here (node:crypto) in a configurable format. There is nothing
 * to apply or retire: the services that check keys read them from Secrets Manager and accept
 * both AWSCURRENT and AWSPREVIOUS (see `consumer/ApiKeyVerifier.ts`), so verify only
 * checks the format.
 */
export class SelfIssuedKeyStrategy implements ApiKeyModeStrategy {
  readonly #keyField: string;
  readonly #defaultFormat: KeyFormat;

  constructor(options: SelfIssuedKeyStrategyOptions) {
    this.#keyField = options.keyField;
    this.#defaultFormat = options.defaultFormat;
  }

  /** A new random key in the secret's format (its `keyFormat` over the deployment default). */
  async generatePending(request: GenerateRequest, current: ApiKeySecret): Promise<ApiKeySecret> {
    const key = generateApiKey(this.#formatOf(current));
    request.registerSecret(key);
    request.logger.info('Generated a new self-issued API key', { mode: 'self-issued' });
    return { ...current, [this.#keyField]: key };
  }

  /** The only check possible here: the services that accept the key enforce the format too. */
  async verify(_request: PendingRequest, pending: ApiKeySecret): Promise<void> {
    const problem = keyFormatProblem(pending[this.#keyField], this.#formatOf(pending));
    if (problem) throw new SecretFormatError(this.#keyField, problem);
  }

  #formatOf(secret: ApiKeySecret): KeyFormat {
    return keyFormatFromSecret(secret[API_KEY_FIELDS.keyFormat], this.#defaultFormat);
  }
}
