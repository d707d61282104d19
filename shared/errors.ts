/**
 * The one error hierarchy of rotator. Every error we raise ends in `Error`, carries a
 * `name` equal to its class, and never carries a secret value in its message: fields are
 * named, values are not.
 *
 * Foreign errors (SDK, drivers) are wrapped with `{ cause }`; our own errors are re-thrown
 * unchanged (see {@link asRotationError}).
 */
export class RotationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The invocation event is malformed: names the offending field. */
export class InvalidEventError extends RotationError {
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`Invalid rotation event: field "${field}" ${problem}`);
    this.field = field;
  }
}

/** Deployment configuration (environment variables, options) is unusable. Raised at start-up. */
export class ConfigurationError extends RotationError {
  readonly field: string;
  constructor(field: string, problem: string, options?: { cause?: unknown }) {
    super(`Invalid configuration: ${field} ${problem}`, options);
    this.field = field;
  }
}

/**
 * The secret is not in a state in which this step may run: rotation disabled, the token is
 * not a version of the secret, or the token's version is not labelled AWSPENDING.
 */
export class RotationStateError extends RotationError {}

/** A secret value does not have the shape the strategy needs: names the field, never the value. */
export class SecretFormatError extends RotationError {
  readonly field: string;
  /** What is wrong with the field, without the field name (e.g. `is missing`). */
  readonly problem: string;
  constructor(field: string, problem: string, options?: { cause?: unknown }) {
    super(`Secret value: field "${field}" ${problem}`, options);
    this.field = field;
    this.problem = problem;
  }
}

/** Secrets Manager refused or failed a call after retries. `operation` is the API name. */
export class SecretsManagerError extends RotationError {
  readonly operation: string;
  constructor(operation: string, options: { cause: unknown }) {
    const cause = options.cause as { name?: string } | undefined;
    super(`Secrets Manager ${operation} failed: ${cause?.name ?? 'unknown error'}`, options);
    this.operation = operation;
  }
}

/**
 * Connecting to a kind's target (database, Redis, key provider) failed for a reason other
 * than refused credentials: network, timeout, TLS. Carries the driver's code and message
 * (connection errors hold no statement and no password). Each kind specialises it
 * (`DatabaseConnectionError`, `RedisConnectionError`).
 */
export class ConnectionFailedError extends RotationError {
  /** Driver or socket error code (`ECONNREFUSED`, `DEPTH_ZERO_SELF_SIGNED_CERT`, ...), if any. */
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * The target refused the login itself (wrong password, unknown user): the one connection
 * failure that means "try the next credentials". Every other failure stops the step with
 * its reason.
 */
export class LoginRefusedError extends ConnectionFailedError {}

/** The pending credential did not work when tested, or could not be applied to its target. */
export class CredentialRejectedError extends RotationError {}

/** The step was aborted because the function is about to time out. */
export class StepTimeoutError extends RotationError {}

/** The alternate username would exceed the engine's limit (AWS's functions check the same). */
export class UsernameLengthError extends RotationError {
  readonly limit: number;
  constructor(field: string, limit: number, unit: string) {
    super(
      `Secret value: field "${field}" would be longer than ${limit} ${unit} after toggling the _clone suffix`,
    );
    this.limit = limit;
  }
}

/** Wraps a foreign error with `message` as context; returns our own errors unchanged. */
export function asRotationError(error: unknown, message: string): RotationError {
  if (error instanceof RotationError) return error;
  return new RotationError(message, { cause: error });
}
