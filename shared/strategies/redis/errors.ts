import { ConnectionFailedError, LoginRefusedError, RotationError } from '../../errors.js';

/**
 * Connecting to the Redis server failed for a reason other than refused credentials
 * (network, timeout, TLS), with the driver's message (connection errors hold no command
 * text and no password) so the reason is visible in the step's failure.
 */
export class RedisConnectionError extends ConnectionFailedError {}

/**
 * The server refused the login itself (`WRONGPASS`: wrong password, unknown or disabled
 * user): the one failure that means "try other credentials". Every other failure stops the
 * step with its reason.
 */
export class RedisLoginRefusedError extends LoginRefusedError {}

/**
 * A command failed. The message names the operation and the reply's error code only
 * (`NOPERM`, `ERR`): Redis quotes the offending ACL rule in its error text, which may be a
 * password hash, so the reply travels as `cause`, which the engine scrubs of every
 * registered value.
 */
export class RedisCommandError extends RotationError {
  /** What we were doing, e.g. `add password hash`. */
  readonly operation: string;
  /** The first word of the error reply (`NOPERM`, `ERR`, `WRONGTYPE`), if any. */
  readonly code: string | undefined;
  constructor(operation: string, code: string | undefined, options?: { cause?: unknown }) {
    super(`Redis ${operation} failed${code ? ` (${code})` : ''}`, options);
    this.operation = operation;
    this.code = code;
  }
}

/**
 * The alternate user does not hold exactly the rules of the user the application uses now
 * after the clone was written (a server that rewrote a rule differently, or a concurrent
 * change). Promoting it could break the application, so `setSecret` fails instead.
 * `differences` names the parts that differ (`commands`, `keys`, ...), never a value.
 */
export class AclRuleParityError extends RotationError {
  readonly differences: readonly string[];
  constructor(fromUser: string, toUser: string, differences: readonly string[]) {
    super(
      `ACL rule parity: user "${toUser}" does not have the rules of "${fromUser}" after cloning (${differences.join(', ')} differ)`,
    );
    this.differences = differences;
  }
}
