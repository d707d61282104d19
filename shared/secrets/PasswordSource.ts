import { ConfigurationError } from '../errors.js';
import { generateLocalPassword, type PasswordPolicy } from './passwords.js';
import type { SecretsGateway } from './SecretsGateway.js';

/** Where new passwords come from. */
export interface PasswordSource {
  /** A new password under the deployment's policy. */
  generate(signal?: AbortSignal): Promise<string>;
}

/** The local CSPRNG under the same policy as `GetRandomPassword`: no API call. */
export class LocalPasswordSource implements PasswordSource {
  readonly #policy: PasswordPolicy;
  constructor(policy: PasswordPolicy) {
    this.#policy = policy;
  }
  async generate(): Promise<string> {
    return generateLocalPassword(this.#policy);
  }
}

/** Secrets Manager's `GetRandomPassword`: one API call per password. */
export class ServicePasswordSource implements PasswordSource {
  readonly #policy: PasswordPolicy;
  readonly #gateway: SecretsGateway;
  constructor(policy: PasswordPolicy, gateway: SecretsGateway) {
    this.#policy = policy;
    this.#gateway = gateway;
  }
  generate(signal?: AbortSignal): Promise<string> {
    return this.#gateway.randomPassword(this.#policy, signal);
  }
}

/**
 * Picks the source named by `PASSWORD_SOURCE` (`local`, the default, or `service`).
 * `service` is for deployments whose compliance rules want passwords made by AWS.
 */
export function passwordSourceFromEnv(
  env: NodeJS.ProcessEnv,
  policy: PasswordPolicy,
  gateway: SecretsGateway,
): PasswordSource {
  const choice = (env.PASSWORD_SOURCE ?? 'local').trim().toLowerCase();
  if (choice === 'local' || choice === '') return new LocalPasswordSource(policy);
  if (choice === 'service') return new ServicePasswordSource(policy, gateway);
  throw new ConfigurationError('PASSWORD_SOURCE', 'must be "local" or "service"');
}
