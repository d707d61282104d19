import {
  ConnectionFailedError,
  LoginRefusedError,
  RotationError,
  UsernameLengthError,
} from '../../errors.js';

/**
 * Connecting to the database failed for a reason other than refused credentials (network,
 * timeout, TLS), with the driver's message, so the reason is visible in the step's failure.
 */
export class DatabaseConnectionError extends ConnectionFailedError {}

/** A refused database login is the generic {@link LoginRefusedError}. */
export { LoginRefusedError };

/**
 * A statement failed. The message names the operation and the driver's error code only:
 * driver messages can quote SQL text (mysql2's `sqlMessage` "near '...'"), so the driver
 * error travels as `cause`, which the engine scrubs of every registered value.
 */
export class DatabaseQueryError extends RotationError {
  /** What we were doing, e.g. `set password`. */
  readonly operation: string;
  /** SQLSTATE / errno / driver code, if any. */
  readonly code: string | undefined;
  constructor(operation: string, code: string | undefined, options?: { cause?: unknown }) {
    super(`Database ${operation} failed${code ? ` (code ${code})` : ''}`, options);
    this.operation = operation;
    this.code = code;
  }
}

/** Moved to the shared error family: every kind with alternating users raises it. */
export { UsernameLengthError };

/**
 * The user about to become active does not have the same privileges as the user the
 * application uses now, and the admin login could not bring them over. Promoting it would
 * break the application, so `setSecret` fails instead. `missing` lists what the pending user
 * lacks (normalised, user names replaced by placeholders; never a secret value).
 */
export class GrantParityError extends RotationError {
  readonly missing: readonly string[];
  readonly fromUser: string;
  readonly toUser: string;
  constructor(
    fromUser: string,
    toUser: string,
    missing: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(
      `Grant parity: user "${toUser}" lacks ${missing.length} privilege(s) that "${fromUser}" has and the admin login could not grant them: ${missing.join('; ')}`,
      options,
    );
    this.missing = missing;
    this.fromUser = fromUser;
    this.toUser = toUser;
  }
}
