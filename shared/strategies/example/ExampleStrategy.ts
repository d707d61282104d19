import type { GenerateRequest, PendingRequest, RotationStrategy } from '../../engine/types.js';
import { SecretFormatError } from '../../errors.js';
import { parseSecretObject } from '../../secrets/secretJson.js';

/**
 * The smallest useful strategy: a JSON secret whose `password` field is replaced by a new
 * random password, every other field kept. There is no target to apply it to, so it suits
 * passwords that consumers read from Secrets Manager and nothing else checks. The engine's
 * own example and the local demo use it.
 */
export class ExampleStrategy implements RotationStrategy {
  readonly name = 'example-password';

  async generatePending(request: GenerateRequest): Promise<string> {
    const current = parseSecretObject(await request.current());
    return JSON.stringify({ ...current, password: await request.generatePassword() });
  }

  /** Nothing holds this password but Secrets Manager, so there is nothing to apply. */
  async apply(request: PendingRequest): Promise<void> {
    this.#requirePassword(parseSecretObject(await request.pending()));
  }

  async verify(request: PendingRequest): Promise<void> {
    this.#requirePassword(parseSecretObject(await request.pending()));
  }

  #requirePassword(secret: Record<string, unknown>): void {
    if (typeof secret.password !== 'string' || secret.password.length === 0) {
      throw new SecretFormatError('password', 'must be a non-empty string');
    }
  }
}
