import { ConfigurationError } from '../errors.js';
import { syncTargets } from '../sync/syncTargets.js';
import type { SyncTarget } from '../sync/targets.js';
import type { StepContext } from './protocol.js';

/**
 * finishSecret's sync, once AWSCURRENT is on the token: writes `value()` (the token's value,
 * now AWSCURRENT) to every declared target. Returns whether there were targets; a secret
 * without any reads nothing and builds no client. A failure throws after the promotion:
 * a retry of finishSecret lands on the already-current path, which calls this again.
 */
export async function syncAfterPromotion(
  ctx: StepContext,
  targets: readonly SyncTarget[],
  value: () => Promise<string>,
): Promise<boolean> {
  if (targets.length === 0) return false;
  if (!ctx.targets) {
    throw new ConfigurationError('targets', 'are declared by tags but this function has no writer');
  }
  const writer = await ctx.targets();
  await syncTargets(targets, await value(), writer, ctx.logger, ctx.signal);
  ctx.logger.info('Sync targets in step with AWSCURRENT', { syncTargets: targets.length });
  return true;
}
