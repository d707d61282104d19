import type { GenerateRequest, PendingRequest, RotationStrategy } from '../../engine/types.js';
import { CredentialRejectedError, RotationError, SecretFormatError } from '../../errors.js';
import type { PasswordPolicy } from '../../secrets/passwords.js';
import type { DialectSet } from './dialect.js';
import type { DatabaseSession } from './driver.js';
import { withLogin } from './secret.js';
import {
  connectOptions,
  type DatabaseStrategyOptions,
  loginOf,
  SecretResolver,
  tryLogin,
  verifySecretLogin,
} from './sessions.js';

/**
 * Single-user rotation (AWS's `…RotationSingleUser`): the user changes its own password.
 * Between `setSecret` and `finishSecret` readers of `AWSCURRENT` hold a dead password (a
 * known limitation of this mode, AWS's too); use alternating users where that matters.
 */
export class SingleUserStrategy implements RotationStrategy {
  readonly name: string;
  readonly passwordDefaults: Partial<PasswordPolicy> | undefined;
  readonly #resolver: SecretResolver;
  readonly #options: DatabaseStrategyOptions;

  constructor(dialects: DialectSet, options: DatabaseStrategyOptions = {}) {
    this.name = `${dialects.name}-single-user`;
    this.passwordDefaults = dialects.passwordDefaults;
    this.#options = options;
    this.#resolver = new SecretResolver(dialects, {
      alternating: false,
      ...(options.defaultSslMode ? { defaultSslMode: options.defaultSslMode } : {}),
    });
  }

  /** Same user, new password; every other field kept. */
  async generatePending(request: GenerateRequest): Promise<string> {
    const { secret } = this.#resolver.resolve(await request.current(), 'AWSCURRENT');
    return withLogin(secret, {
      username: secret.username,
      password: await request.generatePassword(),
    });
  }

  /**
   * `setSecret`. Idempotent: the pending password already working means an earlier attempt
   * set it. Otherwise logs in with current, then previous (a crash between the password
   * change and `finishSecret` leaves previous or current valid), and changes the password.
   */
  async apply(request: PendingRequest): Promise<void> {
    const { secret: pending, dialect } = this.#resolver.resolve(
      await request.pending(),
      'AWSPENDING',
    );
    const { secret: current } = this.#resolver.resolve(await request.current(), 'AWSCURRENT');
    const options = connectOptions(this.#options, request.signal);

    const already = await tryLogin(dialect, loginOf(pending), options);
    if (already) {
      await already.close();
      request.logger.info('Pending password already works: nothing to set');
      return;
    }
    // Single-user rotation may only change the password of the user it logs in as.
    if (current.username !== pending.username) {
      throw new SecretFormatError(
        'username',
        "of the AWSPENDING value differs from the AWSCURRENT value (single-user rotation changes one user's password)",
      );
    }
    if (current.host !== pending.host) {
      throw new SecretFormatError(
        'host',
        'of the AWSPENDING value differs from the AWSCURRENT value',
      );
    }
    let session: DatabaseSession | undefined = await tryLogin(dialect, loginOf(current), options);
    let loggedInWith = 'AWSCURRENT';
    if (!session) {
      const previousString = await request.previous();
      if (previousString !== undefined) {
        let previous: ReturnType<SecretResolver['resolve']>['secret'] | undefined;
        try {
          previous = this.#resolver.resolve(previousString, 'AWSPREVIOUS').secret;
        } catch (error) {
          if (!(error instanceof RotationError)) throw error;
          request.logger.warn('AWSPREVIOUS value is unusable; not trying it', {
            reason: error.message,
          });
        }
        if (previous && previous.username === pending.username && previous.host === pending.host) {
          // As AWS's functions: the previous value is tried with the current TLS settings.
          session = await tryLogin(dialect, { ...loginOf(previous), tls: current.tls }, options);
          loggedInWith = 'AWSPREVIOUS';
        }
      }
    }
    if (!session) {
      throw new CredentialRejectedError(
        `Unable to log into ${dialect.label} with the previous, current or pending secret value of user "${pending.username}"`,
      );
    }
    try {
      await dialect.changeOwnPassword(session, {
        username: pending.username,
        password: pending.password,
        register: (value) => request.registerSecret(value),
      });
    } finally {
      await session.close();
    }
    request.logger.info('Password changed', { user: pending.username, loggedInWith });
  }

  /** `testSecret`: logs in with the pending value and runs a harmless query. */
  async verify(request: PendingRequest): Promise<void> {
    await verifySecretLogin(
      this.#resolver,
      await request.pending(),
      'AWSPENDING',
      connectOptions(this.#options, request.signal),
    );
  }
}
