import { RotationError } from '../errors.js';
import { describeTarget, type SyncTarget } from './targets.js';

/** A target could not be read or written: names the target and the operation, never a value. */
export class SyncWriteError extends RotationError {
  readonly target: string;
  readonly tag: string;
  constructor(target: SyncTarget, operation: string, options: { cause: unknown }) {
    const cause = options.cause as { name?: string; message?: string } | undefined;
    const reason =
      cause instanceof RotationError ? cause.message : (cause?.name ?? 'unknown error');
    super(
      `Sync target ${describeTarget(target)} (tag "${target.tag}"): ${operation} failed: ${reason}`,
      options,
    );
    this.target = describeTarget(target);
    this.tag = target.tag;
  }
}
