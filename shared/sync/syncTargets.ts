import type { Logger } from '@aws-lambda-powertools/logger';
import { RotationError } from '../errors.js';
import { SyncWriteError } from './errors.js';
import type { TargetState, TargetWriter } from './TargetWriter.js';
import { describeTarget, type SyncTarget, targetValue } from './targets.js';

/** One or more sync targets were not written: lists them (tag and place), never a value. */
export class SyncFailedError extends RotationError {
  readonly failed: readonly SyncWriteError[];
  constructor(failed: readonly RotationError[]) {
    super(
      `The new value is AWSCURRENT, but ${failed.length} sync target(s) were not updated; retry finishSecret (or run rotator reconcile --apply): ${failed.map((e) => e.message).join('; ')}`,
      { cause: failed[0] },
    );
    this.failed = failed.filter((e): e is SyncWriteError => e instanceof SyncWriteError);
  }
}

/**
 * Writes `secretText` (the AWSCURRENT value) to every target, each independently: a target
 * that fails does not stop the others, and the failures are reported together as one
 * {@link SyncFailedError}. Targets already holding the value are not written.
 */
export async function syncTargets(
  targets: readonly SyncTarget[],
  secretText: string,
  writer: TargetWriter,
  logger: Logger,
  signal?: AbortSignal,
): Promise<Map<SyncTarget, TargetState>> {
  const found = new Map<SyncTarget, TargetState>();
  const failed: RotationError[] = [];
  for (const target of targets) {
    try {
      const state = await writer.write(target, targetValue(target, secretText), signal);
      found.set(target, state);
      logger.info(state === 'in-step' ? 'Sync target already in step' : 'Sync target written', {
        syncTarget: describeTarget(target),
        tag: target.tag,
        found: state,
      });
    } catch (error) {
      const wrapped =
        error instanceof RotationError
          ? error
          : new SyncWriteError(target, 'write', { cause: error });
      logger.error('Sync target not written', {
        syncTarget: describeTarget(target),
        tag: target.tag,
        errorName: wrapped.name,
      });
      failed.push(wrapped);
    }
  }
  if (failed.length > 0) throw new SyncFailedError(failed);
  return found;
}
