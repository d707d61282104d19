import type { UsernameLimit } from '../../kinds/usernames.js';
import type { PasswordPolicy } from '../../secrets/passwords.js';
import type { Connector, DatabaseSession, LoginTarget } from './driver.js';

/** A password to set, and where to register what is derived from it (hashes, verifiers). */
export interface PasswordChange {
  readonly username: string;
  readonly password: string;
  /** Registers a derived secret (a SCRAM verifier, a native hash) for log scrubbing. */
  readonly register: (value: string) => void;
}

/**
 * A password change made inside a transaction that stays open until {@link commit} or
 * {@link rollback} (see {@link DatabaseDialect.stagePassword}).
 */
export interface StagedPassword {
  /**
   * Resolves true once the change is made and waits for a decision; false when it could not
   * be made (no such user, a refused statement, no admin session): nothing is left to undo
   * then but {@link rollback} may still be called. Never rejects.
   */
  readonly ready: Promise<boolean>;
  /** Makes the change permanent. */
  commit(): Promise<void>;
  /** Undoes it; never throws (a connection that is gone has undone it already). */
  rollback(): Promise<void>;
}

/** The two users of an alternating pair, as seen by one rotation. */
export interface UserPair {
  /** The user the application uses now (`AWSCURRENT`); the source of truth for privileges. */
  readonly current: string;
  /** The user about to become active (`AWSPENDING`). */
  readonly pending: string;
  /** The user without the `_clone` suffix. */
  readonly base: string;
  /** The user with the `_clone` suffix. */
  readonly clone: string;
}

/**
 * One privilege of a user, as a dialect sees it. `key` is normalised so that equal keys
 * mean the same privilege for either user of the pair (user names replaced by
 * placeholders); it is what a {@link GrantParityError} lists, so it never holds a secret.
 */
export interface Privilege {
  readonly key: string;
}

/** A privilege a dialect could not give to the pending user. */
export interface RepairFailure {
  readonly key: string;
  readonly error: unknown;
}

/** Defaults a dialect contributes to secret parsing. */
export interface DialectSecretDefaults {
  readonly defaultPort: number;
  readonly defaultDbname?: string;
}

/**
 * Everything engine-specific, behind one interface: one implementation per engine
 * (PostgreSQL, MySQL, MariaDB), so the strategies hold no `if (engine === ...)` chains.
 * Every method must be idempotent: a crash can re-run any of them.
 */
export interface DatabaseDialect<P extends Privilege = Privilege> {
  /** Human name for messages, e.g. `PostgreSQL`. */
  readonly label: string;
  readonly secretDefaults: DialectSecretDefaults;
  /** Limit on alternating usernames (AWS's: PG 63, MySQL 16 by default, MariaDB 80). */
  readonly usernameLimit: UsernameLimit;
  /** Opens sessions (injected: pg / mysql2 in production, fakes in unit tests). */
  readonly connect: Connector;
  /** A harmless query proving the session works (`SELECT 1`). */
  probe(session: DatabaseSession): Promise<void>;
  /**
   * Optional: the probe of a kept admin session before reuse ({@link SessionKeeper}), where
   * the server can also tell that its login would now be refused; default {@link probe}.
   */
  probeKept?(session: DatabaseSession, login: LoginTarget): Promise<void>;
  /** Single-user: the logged-in user sets its own password. */
  changeOwnPassword(session: DatabaseSession, change: PasswordChange): Promise<void>;
  /**
   * Alternating users, as admin: creates `change.username` (every account of it the
   * template has) with the password, modelled on `template`, if missing. Returns true when
   * it created something.
   */
  ensureUser(admin: DatabaseSession, template: string, change: PasswordChange): Promise<boolean>;
  /** Alternating users, as admin: sets another user's password. */
  setUserPassword(admin: DatabaseSession, change: PasswordChange): Promise<void>;
  /**
   * The effective privileges of each of `usernames` (one list per name, in order),
   * normalised for comparison within `pair`. Grant parity asks for both users of the pair
   * at once, so a dialect that can read several users in one round trip should.
   */
  privileges(admin: DatabaseSession, usernames: readonly string[], pair: UserPair): Promise<P[][]>;
  /**
   * Optional: starts reading {@link privileges} on `session`, any user's (where the
   * engine lets every user read them), and returns what completes the read: it resolves
   * with `privileges(admin, usernames, pair)`, and uses the admin's session (once it opens)
   * only when the read on `session` failed. The alternating strategy starts it on the
   * current user's session, so the read overlaps the admin's login.
   */
  beginPrivilegeRead?(
    session: DatabaseSession,
    usernames: readonly string[],
    pair: UserPair,
  ): (admin: Promise<DatabaseSession>) => Promise<P[][]>;
  /**
   * Optional, for engines whose password changes are transactional: sets `change` as
   * {@link setUserPassword} does, on the admin session once it opens, inside a transaction
   * left open, so the change can be made while grant parity is still being read and
   * committed only if parity holds. Starts at once (a dialect may derive the verifier while
   * the admin logs in).
   */
  stagePassword?(admin: Promise<DatabaseSession>, change: PasswordChange): StagedPassword;
  /**
   * Gives `missing` (privileges of `pair.current`) to `pair.pending`. Returns what it could
   * not give; never throws for a single refused grant. The SQL dialects pass the statements
   * of one privilege to `grantEach` (grantParity.ts), which owns the loop.
   */
  repair(admin: DatabaseSession, missing: readonly P[], pair: UserPair): Promise<RepairFailure[]>;
}

/** The dialects one function serves, keyed by the secret's `engine` value. */
export interface DialectSet {
  /** Engine assumed when a single-user secret has no `engine` field (as AWS's functions). */
  readonly defaultEngine: string;
  readonly byEngine: Readonly<Record<string, DatabaseDialect>>;
  /** Password policy defaults for the function (PostgreSQL also excludes `:`). */
  readonly passwordDefaults?: Partial<PasswordPolicy>;
  /** Short name for the strategy, e.g. `postgres`. */
  readonly name: string;
}
