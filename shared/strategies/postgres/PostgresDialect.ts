import pg from 'pg';
import type {
  DatabaseDialect,
  DialectSet,
  PasswordChange,
  RepairFailure,
  UserPair,
} from '../database/dialect.js';
import { type Connector, type DatabaseSession, runQuery } from '../database/driver.js';
import { grantEach } from '../database/grantParity.js';
import { connectPostgres } from './connect.js';
import {
  ADMIN_PRIVILEGES_SQL,
  EARLY_PRIVILEGES_SQL,
  ITERATIONS_SQL,
  type PgPrivilege,
  PRIVILEGES_SQL,
  type PrivilegeRow,
  privilegeParams,
  privilegesFromRows,
} from './privileges.js';
import { DEFAULT_SCRAM_ITERATIONS, scramSha256Verifier } from './scram.js';

export type { PgPrivilege } from './privileges.js';

const { escapeIdentifier: ident, escapeLiteral: literal } = pg;

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
    await runQuery(session, 'pin search_path', 'SET search_path TO pg_catalog, pg_temp');
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
    // LOGIN too: a pre-existing clone made NOLOGIN would otherwise fail testSecret later.
    await runQuery(
      admin,
      'set password',
      `ALTER ROLE ${ident(change.username)} WITH LOGIN PASSWORD ${literal(verifier)}`,
    );
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
   * Reads memberships and object privileges on `session` (any user may: the catalogs and
   * the `has_*_privilege` functions are open to all) while the admin session reads the
   * rest, with what `ensureUser` would look up; a refused early read is done again as
   * admin.
   */
  beginPrivilegeRead(
    session: DatabaseSession,
    usernames: readonly string[],
    pair: UserPair,
  ): (admin: DatabaseSession) => Promise<PgPrivilege[][]> {
    const params = privilegeParams(usernames, pair);
    const readEarly = async (on: DatabaseSession) => {
      await this.#pinSearchPath(on);
      return runQuery<PrivilegeRow>(on, 'read privileges', EARLY_PRIVILEGES_SQL, params);
    };
    const early = readEarly(session).catch(() => undefined);
    return async (admin) => {
      const [first, rest] = await Promise.all([
        early,
        this.#pinSearchPath(admin).then(() =>
          runQuery<PrivilegeRow & { iterations: string | null }>(
            admin,
            'read privileges',
            ADMIN_PRIVILEGES_SQL,
            [[...usernames]],
          ),
        ),
      ]);
      this.#rolesSeen.set(admin, new Set(rest.map((row) => row.username)));
      if (rest[0]) this.#rememberIterations(admin, rest[0].iterations);
      // A role the early read did not see (created between the two reads) is read again,
      // with the rest, on the admin's session: both halves must describe the same roles.
      const complete = first && rest.every((row) => first.some((r) => r.username === row.username));
      const firstRows = complete ? first : await readEarly(admin);
      const rows = rest.map((row) => ({
        ...row,
        ...firstRows.find((r) => r.username === row.username),
      }));
      return privilegesFromRows(rows, usernames, pair);
    };
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
