import { ConfigurationError, RotationStateError } from '../errors.js';
import { AWSCURRENT, AWSPENDING } from '../secrets/SecretsGateway.js';
import { syncTargets } from '../sync/syncTargets.js';
import { parseSyncTargets, type SyncTarget } from '../sync/targets.js';
import type { StepContext } from './protocol.js';
import { versionWithStage } from './requests.js';

/**
 * Rounds of "AWSCURRENT moved while we wrote": each is a whole newer rotation finishing
 * during one write, so a fourth move in a row means something else is wrong, and the step
 * fails rather than report the targets in step.
 */
const MAX_CATCH_UP_ROUNDS = 3;

/**
 * finishSecret's sync, once AWSCURRENT is on the token: writes `value()` (the token's value,
 * now AWSCURRENT) to every declared target. Returns whether there were targets; a secret
 * without any reads nothing and builds no client. A failure throws after the promotion:
 * a retry of finishSecret lands on the already-current path, which calls this again.
 *
 * A newer rotation can promote and sync while this one is still writing; its writes may
 * land first and ours would then leave an older value in a target. So after writing, the
 * labels are read again, and while AWSCURRENT is elsewhere its value is written instead:
 * whichever finishSecret writes last then checks last, and leaves the newest value.
 */
export async function syncAfterPromotion(
  ctx: StepContext,
  secretArn: string,
  targets: readonly SyncTarget[],
  value: () => Promise<string>,
): Promise<boolean> {
  if (targets.length === 0) return false;
  if (!ctx.targets) {
    throw new ConfigurationError('targets', 'are declared by tags but this function has no writer');
  }
  const writer = await ctx.targets();
  // A failed write is held, not thrown at once: a newer AWSCURRENT found below is written
  // to every target (the failed one too), and this token may no longer be retried.
  let failure = await attempt(() =>
    value().then((text) => syncTargets(targets, text, writer, ctx.logger, ctx.signal)),
  );
  let written = ctx.event.ClientRequestToken;
  for (let round = 0; ; round++) {
    const now = await ctx.gateway.describe(secretArn, ctx.signal);
    const current = versionWithStage(now, AWSCURRENT);
    if (current === undefined || current === written) break;
    // A read that still shows what we wrote as pending predates its promotion (a lagging
    // read): following it would put the previous value back. Only a version we wrote that
    // has lost AWSCURRENT (AWSPREVIOUS, or no label) means a newer rotation finished.
    if (now.versions.get(written)?.includes(AWSPENDING)) break;
    const newer = await ctx.gateway.getVersion(secretArn, current, ctx.signal);
    if (newer === undefined) break;
    if (round === MAX_CATCH_UP_ROUNDS) {
      throw new RotationStateError(
        `AWSCURRENT kept moving while the sync targets were written (${round} newer versions); they may hold an older value: run rotator reconcile --apply`,
      );
    }
    ctx.logger.warn('AWSCURRENT moved to a newer version while the targets were written', {
      newerVersionId: current,
    });
    failure = await attempt(() =>
      syncTargets(parseSyncTargets(now.tags), newer.text, writer, ctx.logger, ctx.signal),
    );
    written = current;
  }
  if (failure !== undefined) throw failure;
  ctx.logger.info('Sync targets in step with AWSCURRENT', { syncTargets: targets.length });
  return true;
}

/** Runs `write`; returns what it threw (undefined when it succeeded). */
async function attempt(write: () => Promise<unknown>): Promise<unknown> {
  try {
    await write();
    return undefined;
  } catch (error) {
    return error;
  }
}
