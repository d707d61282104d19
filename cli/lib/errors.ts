import { RotationError } from '../../shared/errors.js';

/** The command line is wrong (unknown option, missing argument): exit code 2. */
export class UsageError extends RotationError {}

/**
 * An operator command cannot do what was asked, for a reason the operator can act on
 * (secret not found, rotation running, refusal to lock a user out): exit code 1. The message
 * is plain language and never carries a secret value.
 */
export class OperatorError extends RotationError {
  /** A command that fixes or works around the problem, when there is one. */
  readonly fix: string | undefined;
  constructor(message: string, options: { fix?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.fix = options.fix;
  }
}
