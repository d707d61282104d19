import { RotationError } from '../shared/errors.js';

/**
 * The consumer library could not read the secret from Secrets Manager (and had no earlier
 * value to fall back on). Names the secret, never a value; the Secrets Manager error is the
 * `cause`.
 */
export class CredentialsUnavailableError extends RotationError {
  readonly secretId: string;
  constructor(secretId: string, options: { cause: unknown }) {
    super(`Could not read secret ${secretId} from Secrets Manager`, options);
    this.secretId = secretId;
  }
}

/**
 * The database kept refusing the login after the library re-read the secret and retried
 * with back-off: the secret holds no working credential (or the database user was changed
 * outside rotation). Names the engine, user and driver code, never the password; the last
 * driver error, scrubbed of every secret value, is the `cause`.
 */
export class DatabaseLoginError extends RotationError {
  /** `PostgreSQL` or `MySQL/MariaDB`. */
  readonly engine: string;
  /** The user of the last refused login. */
  readonly username: string;
  /** The driver's code of the last refusal (`28P01`, `1045`, …), if any. */
  readonly code: string | undefined;
  /** Operation attempts made, the first included. */
  readonly attempts: number;
  constructor(
    details: { engine: string; username: string; code: string | undefined; attempts: number },
    options: { cause: unknown },
  ) {
    super(
      `${details.engine} refused the login of user "${details.username}" ${details.attempts} times` +
        `${details.code ? ` (${details.code})` : ''}, re-reading the secret in between`,
      options,
    );
    this.engine = details.engine;
    this.username = details.username;
    this.code = details.code;
    this.attempts = details.attempts;
  }
}
