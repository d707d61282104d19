import pg from 'pg';
import type {
  DatabaseDialect,
  DialectSet,
  PasswordChange,
  RepairFailure,
  StagedPassword,
  UserPair,
} from '../database/dialect.js';
import { type Connector, type DatabaseSession, runQuery } from '../database/driver.js';
import { DatabaseQueryError } from '../database/errors.js';
import { grantEach } from '../database/grantParity.js';
import { connectPostgres } from './connect.js';
import {
  ITERATIONS_SQL,
  type PgPrivilege,
  PRIVILEGES_SQL,
  type PrivilegeRow,
  privilegeParams,
  privilegesFromRows,
  privilegesSqlFor,
} from './privileges.js';
import {
  DEFAULT_SCRAM_ITERATIONS,
  scramSha256Verifier,
  scramSha256VerifierAsync,
} from './scram.js';

export type { PgPrivilege } from './privileges.js';

const { escapeIdentifier: ident, escapeLiteral: literal } = pg;

const PIN_SEARCH_PATH_SQL = 'SET search_path TO pg_catalog, pg_temp';

/** GUCs whose values are lists of identifiers (re-quoted element by element on repair). */
const LIST_SETTINGS = new Set(['search_path', 'temp_tablespaces']);

/** A list GUC value as stored (`"$user", public`) re-quoted element by element. */
function listSettingSql(value: string): string {
  return value
    .split(',')
    .map((element) => element.trim())
    .filter((element) => element.length > 0)
    .map((element) => {
      const quoted = /^"((?:[^"]|"")*)"$/.exec(element);
      return ident(quoted ? (quoted[1] ?? '').replace(/""/g, '"') : element);
    })
    .join(', ');
}

/**
 * PostgreSQL (and Aurora PostgreSQL). Passwords are set as SCRAM-SHA-256 verifiers
 * computed here; identifiers go through `escapeIdentifier`, the verifier through
 * `escapeLiteral` (utility statements cannot take bind parameters).
 */
export class PostgresDialect implements DatabaseDialect<PgPrivilege> {
  readonly label = 'PostgreSQL';
  readonly secretDefaults = { defaultPort: 5432, defaultDbname: 'postgres' };
  readonly usernameLimit = { max: 63, unit: 'bytes' as const };
  readonly connect: Connector;

  constructor(connect: Connector = connectPostgres) {
    this.connect = connect;
  }

  async probe(session: DatabaseSession): Promise<void> {
    await runQuery(session, 'test query', 'SELECT 1 AS ok');
  }

  /**
   * PostgreSQL keeps a session running whatever happens to its role: a kept admin session
   * is reused only while the role that logged in (`SESSION_USER`, not a default role it
   * runs as) still has the secret's name, is still a member of the role it runs as, and
   * would pass the catalog checks of a new login: `LOGIN`, `VALID UNTIL`, a connection
   * limit of 0, the database's `CONNECT` privilege and `ALLOW_CONNECTIONS`. So an admin
   * disabled in the database stops acting at the next setSecret (a changed password and
   * pg_hba.conf cannot be seen from a session). Qualified names: the session's
   * search_path is the admin's own.
   */
  async probeKept(session: DatabaseSession, login: { username: string }): Promise<void> {
    const rows = await runQuery(
      session,
      'check the kept admin session',
      `SELECT 1 AS ok FROM pg_catalog.pg_roles r, pg_catalog.pg_database d
        WHERE r.rolname OPERATOR(pg_catalog.=) SESSION_USER AND r.rolname OPERATOR(pg_catalog.=) $1
          AND r.rolcanlogin AND (r.rolvaliduntil IS NULL OR r.rolvaliduntil OPERATOR(pg_catalog.>) pg_catalog.now())
          AND (r.rolsuper OR r.rolconnlimit OPERATOR(pg_catalog.<>) 0)
          AND (CURRENT_USER OPERATOR(pg_catalog.=) SESSION_USER OR pg_catalog.pg_has_role(SESSION_USER, CURRENT_USER, 'MEMBER'))
          AND d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database() AND d.datallowconn
          AND pg_catalog.has_database_privilege(SESSION_USER, d.oid, 'CONNECT')`,
      [login.username],
    );
    if (rows.length === 0) {
      throw new DatabaseQueryError(
        'check of the kept admin session (login no longer allowed)',
        undefined,
      );
    }
  }

  /** Sessions whose search_path is pinned to pg_catalog (see {@link #pinSearchPath}). */
  readonly #pinned = new WeakSet<DatabaseSession>();

  /**
   * Pins the session's search_path to `pg_catalog, pg_temp` before any statement that names
   * a function or operator: a user's own search_path (the current user's session, or a
   * schema such as `public` that the admin's path includes) could otherwise hold a function
   * that shadows `pg_has_role` or `has_table_privilege` with a closer-matching signature,
   * and make grant parity grant the pending user whatever it claims.
   */
  async #pinSearchPath(session: DatabaseSession): Promise<void> {
    if (this.#pinned.has(session)) return;
    await runQuery(session, 'pin search_path', PIN_SEARCH_PATH_SQL);
    this.#pinned.add(session);
  }

  /** Per session: roles its privilege read found, so `ensureUser` need not look them up. */
  readonly #rolesSeen = new WeakMap<DatabaseSession, Set<string>>();

  /** Per session: `ensureUser` reads it with its role lookup, `setUserPassword` reuses it. */
  readonly #iterationsBySession = new WeakMap<DatabaseSession, number>();

  /** `scram_iterations` on PostgreSQL 16+; 4096 (fixed) before. */
  async #iterations(session: DatabaseSession): Promise<number> {
    const known = this.#iterationsBySession.get(session);
    if (known !== undefined) return known;
    const rows = await runQuery<{ iterations: string | null }>(
      session,
      'read scram_iterations',
      `SELECT ${ITERATIONS_SQL} AS iterations`,
    );
    return this.#rememberIterations(session, rows[0]?.iterations);
  }

  #rememberIterations(session: DatabaseSession, raw: string | null | undefined): number {
    const value = Number(raw ?? Number.NaN);
    const iterations = Number.isInteger(value) && value > 0 ? value : DEFAULT_SCRAM_ITERATIONS;
    this.#iterationsBySession.set(session, iterations);
    return iterations;
  }

  async #verifier(session: DatabaseSession, change: PasswordChange): Promise<string> {
    const verifier = scramSha256Verifier(change.password, {
      iterations: await this.#iterations(session),
    });
    change.register(verifier);
    return verifier;
  }

  async changeOwnPassword(session: DatabaseSession, change: PasswordChange): Promise<void> {
    const verifier = await this.#verifier(session, change);
    await runQuery(
      session,
      'set password',
      `ALTER ROLE ${ident(change.username)} PASSWORD ${literal(verifier)}`,
    );
  }

  async ensureUser(
    admin: DatabaseSession,
    template: string,
    change: PasswordChange,
  ): Promise<boolean> {
    // Seen by this session's privilege read a moment ago (iterations read with it).
    if (this.#rolesSeen.get(admin)?.has(change.username)) return false;
    await this.#pinSearchPath(admin);
    // One round trip for the lookup and the SCRAM iterations the password will need.
    const [row] = await runQuery<{ exists: boolean; iterations: string | null }>(
      admin,
      'look up role',
      `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS exists, ${ITERATIONS_SQL} AS iterations`,
      [change.username],
    );
    this.#rememberIterations(admin, row?.iterations);
    if (row?.exists) return false;
    const verifier = await this.#verifier(admin, change);
    await runQuery(
      admin,
      'create role',
      `CREATE ROLE ${ident(change.username)} WITH LOGIN PASSWORD ${literal(verifier)}`,
    );
    // As AWS's functions: the new user inherits everything the template has and owns.
    await runQuery(
      admin,
      'grant role membership',
      `GRANT ${ident(template)} TO ${ident(change.username)}`,
    );
    return true;
  }

  async setUserPassword(admin: DatabaseSession, change: PasswordChange): Promise<void> {
    const verifier = await this.#verifier(admin, change);
    await runQuery(admin, 'set password', this.#setPasswordSql(change.username, verifier));
  }

  /**
   * One round trip for all `usernames`: a row per user whose JSON columns hold each part of
   * its effective privileges (memberships, attributes, object grants, owner rights, default
   * privileges, settings). Six statements per user before: grant parity read both users of
   * the pair, so twelve round trips became one.
   */
  async privileges(
    admin: DatabaseSession,
    usernames: readonly string[],
    pair: UserPair,
  ): Promise<PgPrivilege[][]> {
    await this.#pinSearchPath(admin);
    const rows = await runQuery<PrivilegeRow>(
      admin,
      'read privileges',
      PRIVILEGES_SQL,
      privilegeParams(usernames, pair),
    );
    return privilegesFromRows(rows, usernames, pair);
  }

  /**
   * Reads every part on `session` (any user may: the catalogs and the `has_*_privilege`
   * functions are open to all), so the read overlaps the admin's login and password change;
   * a refused read is done again as admin.
   */
  beginPrivilegeRead(
    session: DatabaseSession,
    usernames: readonly string[],
    pair: UserPair,
  ): (admin: Promise<DatabaseSession>) => Promise<PgPrivilege[][]> {
    const read = async (on: DatabaseSession) => {
      if (this.#pinned.has(on)) {
        const params = privilegeParams(usernames, pair);
        return runQuery<PrivilegeRow>(on, 'read privileges', PRIVILEGES_SQL, params);
      }
      // The pin and the read in one round trip: a statement list, whose later statements
      // are resolved after the earlier ones ran (an error undoes the pin with the read).
      const rows = await runQuery<PrivilegeRow>(
        on,
        'read privileges',
        `${PIN_SEARCH_PATH_SQL}; ${privilegesSqlFor(usernames, pair)}`,
      );
      this.#pinned.add(on);
      return rows;
    };
    const early = read(session).catch(() => undefined);
    return async (admin) => {
      const rows = (await early) ?? (await read(await admin));
      // For ensureUser on the admin's session, whenever it opens.
      const seen = new Set(rows.map((row) => row.username));
      admin.then((session) => this.#rolesSeen.set(session, seen)).catch(() => {});
      return privilegesFromRows(rows, usernames, pair);
    };
  }

  /** SCRAM iterations the last admin session reported: what a staged verifier assumes. */
  #expectedIterations = DEFAULT_SCRAM_ITERATIONS;

  /**
   * `BEGIN`, then `ALTER ROLE … PASSWORD` and the iteration count in the same round trip.
   * The verifier is derived while the admin logs in, with the count the last admin session
   * reported (4096 at first, PostgreSQL's default); a server that answers otherwise gets a
   * second `ALTER ROLE` with the right count, in the same transaction.
   */
  stagePassword(admin: Promise<DatabaseSession>, change: PasswordChange): StagedPassword {
    const assumed = this.#expectedIterations;
    const verifier = scramSha256VerifierAsync(change.password, { iterations: assumed });
    // Awaited only once the verifier is derived: a refused admin login must not go unhandled.
    admin.catch(() => {});
    let session: DatabaseSession | undefined;
    const ready = (async () => {
      const value = await verifier;
      change.register(value);
      session = await admin;
      const [row] = await runQuery<{ iterations: string | null }>(
        session,
        'set password',
        `BEGIN; ${this.#setPasswordSql(change.username, value)}; SELECT ${ITERATIONS_SQL} AS iterations`,
      );
      const iterations = this.#rememberIterations(session, row?.iterations);
      this.#expectedIterations = iterations;
      if (iterations !== assumed) {
        const exact = await this.#verifier(session, change);
        await runQuery(session, 'set password', this.#setPasswordSql(change.username, exact));
      }
      return true;
    })().catch(() => false);
    const rollback = async () => {
      if (!(await ready.then(() => session))) return;
      await runQuery(session as DatabaseSession, 'roll back', 'ROLLBACK').catch(() => {});
      // A pin made inside the transaction (a fallback privilege read) is undone with it.
      this.#pinned.delete(session as DatabaseSession);
    };
    return {
      ready,
      commit: async () => {
        if (!(await ready) || !session) throw new Error('no staged password to commit');
        await runQuery(session, 'commit password', 'COMMIT');
      },
      rollback,
    };
  }

  #setPasswordSql(username: string, verifier: string): string {
    // LOGIN too: a pre-existing clone made NOLOGIN would otherwise fail testSecret later.
    return `ALTER ROLE ${ident(username)} WITH LOGIN PASSWORD ${literal(verifier)}`;
  }

  async repair(
    admin: DatabaseSession,
    missing: readonly PgPrivilege[],
    pair: UserPair,
  ): Promise<RepairFailure[]> {
    await this.#pinSearchPath(admin);
    return grantEach(admin, missing, (privilege) =>
      this.#repairSql(privilege, pair).map((sql) => ({ operation: 'grant privilege', sql })),
    );
  }

  #repairSql(privilege: PgPrivilege, pair: UserPair): string[] {
    const to = ident(pair.pending);
    switch (privilege.kind) {
      case 'membership':
        return [`GRANT ${ident(privilege.role)} TO ${to}`];
      case 'attribute':
        return [`ALTER ROLE ${to} WITH ${privilege.attribute}`];
      case 'grant':
        return [privilege.sql(pair.pending)];
      case 'owner':
        // Ownership stays with the base user; the clone reaches it through membership.
        // Objects the clone created while active are handed back to the base user when the
        // base user is about to take over (REASSIGN covers every kind of object at once).
        if (privilege.owner === pair.clone && pair.pending === pair.base) {
          return [
            `GRANT ${ident(pair.base)} TO ${ident(pair.clone)}`,
            `REASSIGN OWNED BY ${ident(pair.clone)} TO ${ident(pair.base)}`,
          ];
        }
        return [`GRANT ${ident(privilege.owner)} TO ${to}`];
      case 'default': {
        const grantee =
          privilege.grantee === 'PUBLIC'
            ? 'PUBLIC'
            : privilege.grantee === '<self>'
              ? to
              : privilege.grantee === '<other user>'
                ? ident(pair.current)
                : ident(privilege.grantee);
        const inSchema = privilege.schema ? ` IN SCHEMA ${ident(privilege.schema)}` : '';
        return [
          `ALTER DEFAULT PRIVILEGES FOR ROLE ${to}${inSchema} GRANT ${privilege.privilege} ON ${privilege.objects} TO ${grantee}${privilege.grantable ? ' WITH GRANT OPTION' : ''}`,
        ];
      }
      case 'setting': {
        const name = privilege.name.split('.').map(ident).join('.');
        const value = LIST_SETTINGS.has(privilege.name)
          ? listSettingSql(privilege.value)
          : literal(privilege.value);
        const inDatabase = privilege.database ? ` IN DATABASE ${ident(privilege.database)}` : '';
        return [`ALTER ROLE ${to}${inDatabase} SET ${name} TO ${value}`];
      }
    }
  }
}

/** PostgreSQL's password-policy default: AWS's PostgreSQL functions also exclude `:` (.pgpass). */
export const POSTGRES_PASSWORD_DEFAULTS = { excludeCharacters: ':/@"\'\\' };

/**
 * The dialects of the PostgreSQL function: `postgres` and `aurora-postgresql`.
 *
 * @example
 * ```ts
 * const strategy = new SingleUserStrategy(postgresDialects());
 * ```
 */
export function postgresDialects(connect: Connector = connectPostgres): DialectSet {
  const dialect = new PostgresDialect(connect);
  return {
    name: 'postgres',
    defaultEngine: 'postgres',
    byEngine: { postgres: dialect, 'aurora-postgresql': dialect },
    passwordDefaults: POSTGRES_PASSWORD_DEFAULTS,
  };
}
