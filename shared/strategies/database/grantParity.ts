import type { RotationLogger } from '../../engine/types.js';
import type { DatabaseDialect, Privilege, RepairFailure, UserPair } from './dialect.js';
import { type DatabaseSession, runQuery } from './driver.js';
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
 * Whether `read` (the current user's privileges, then the pending user's) shows the pending
 * user holding everything the current user holds: {@link ensureGrantParity} would change
 * nothing.
 */
export function grantParityHolds<P extends Privilege>(read: readonly P[][]): boolean {
  const [source = [], target = []] = read;
  return keysMissingFrom(source, target).length === 0;
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
  /** Both users' privileges already read (on another session), or read here as admin. */
  read?: P[][],
): Promise<GrantParityReport> {
  const [source = [], first = []] =
    read ?? (await dialect.privileges(admin, [pair.current, pair.pending], pair));
  let target = first;
  const missing = keysMissingFrom(source, target);
  let failures: Awaited<ReturnType<DatabaseDialect<P>['repair']>> = [];
  if (missing.length > 0) {
    logger.info('Grant parity: pending user lacks privileges of the current user; granting', {
      currentUser: pair.current,
      pendingUser: pair.pending,
      missing: missing.map((p) => p.key),
    });
    failures = await dialect.repair(admin, missing, pair);
    [target = []] = await dialect.privileges(admin, [pair.pending], pair);
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

/** One statement that gives a privilege, as a dialect writes it for {@link grantEach}. */
export interface GrantStatement {
  /** What the statement does, for the error if it fails (`grant privilege`). */
  readonly operation: string;
  readonly sql: string;
  readonly params?: readonly unknown[];
}

/**
 * The repair loop every dialect shares: runs the statements that give each missing
 * privilege, in order, and returns the privileges it could not give. A refused grant is
 * recorded, not thrown, so one privilege the admin may not grant does not hide the others;
 * the re-comparison in {@link ensureGrantParity} then reports exactly what is still missing.
 * A statement already run for an earlier privilege is not run again (PostgreSQL's single
 * `REASSIGN OWNED` covers every object the clone owns).
 *
 * @param statementsFor - the dialect's SQL for one privilege; may throw to mark that
 *   privilege as one it cannot give.
 */
export async function grantEach<P extends Privilege>(
  admin: DatabaseSession,
  missing: readonly P[],
  statementsFor: (privilege: P) => readonly GrantStatement[],
): Promise<RepairFailure[]> {
  const failures: RepairFailure[] = [];
  const done = new Set<string>();
  for (const privilege of missing) {
    try {
      for (const statement of statementsFor(privilege)) {
        const key = JSON.stringify([statement.sql, statement.params ?? []]);
        if (done.has(key)) continue;
        await runQuery(admin, statement.operation, statement.sql, statement.params);
        done.add(key);
      }
    } catch (error) {
      failures.push({ key: privilege.key, error });
    }
  }
  return failures;
}
