import type { RotationLogger } from '../../engine/types.js';
import type { DatabaseDialect, Privilege, UserPair } from './dialect.js';
import type { DatabaseSession } from './driver.js';
import { GrantParityError } from './errors.js';

/** What {@link ensureGrantParity} found and did. */
export interface GrantParityReport {
  /** Privileges the pending user lacked and now has. */
  readonly repaired: readonly string[];
  /** Privileges the pending user has beyond the current user's (left alone, logged). */
  readonly extra: readonly string[];
}

function keysMissingFrom<P extends Privilege>(source: readonly P[], target: readonly P[]): P[] {
  const have = new Set(target.map((p) => p.key));
  const seen = new Set<string>();
  return source.filter((p) => {
    if (have.has(p.key) || seen.has(p.key)) return false;
    seen.add(p.key);
    return true;
  });
}

/**
 * Grant parity, run on every alternating-users rotation before the pending user is
 * switched to: compares the pending user's effective privileges with the current user's
 * (the application works with those now), gives the pending user whatever it lacks, then
 * compares again. Anything still missing fails the step with {@link GrantParityError}
 * listing it, so a user that would break the application is never promoted. Privileges the
 * pending user has in excess are reported, not revoked: revoking automatically could break
 * something we cannot see.
 */
export async function ensureGrantParity<P extends Privilege>(
  dialect: DatabaseDialect<P>,
  admin: DatabaseSession,
  pair: UserPair,
  logger: RotationLogger,
): Promise<GrantParityReport> {
  const source = await dialect.privileges(admin, pair.current, pair);
  let target = await dialect.privileges(admin, pair.pending, pair);
  const missing = keysMissingFrom(source, target);
  let failures: Awaited<ReturnType<DatabaseDialect<P>['repair']>> = [];
  if (missing.length > 0) {
    logger.info('Grant parity: pending user lacks privileges of the current user; granting', {
      currentUser: pair.current,
      pendingUser: pair.pending,
      missing: missing.map((p) => p.key),
    });
    failures = await dialect.repair(admin, missing, pair);
    target = await dialect.privileges(admin, pair.pending, pair);
  }
  const stillMissing = keysMissingFrom(source, target).map((p) => p.key);
  if (stillMissing.length > 0) {
    throw new GrantParityError(pair.current, pair.pending, stillMissing, {
      cause: failures[0]?.error,
    });
  }
  const extra = keysMissingFrom(target, source).map((p) => p.key);
  if (extra.length > 0) {
    logger.warn(
      'Grant parity: pending user has privileges the current user lacks (left in place)',
      {
        currentUser: pair.current,
        pendingUser: pair.pending,
        extra,
      },
    );
  }
  const repaired = missing.map((p) => p.key);
  return { repaired, extra };
}
