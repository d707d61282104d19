import pg from 'pg';
import type {
  DatabaseDialect,
  DialectSet,
  PasswordChange,
  Privilege,
  RepairFailure,
  UserPair,
} from '../database/dialect.js';
import { type Connector, type DatabaseSession, runQuery } from '../database/driver.js';
import { grantEach } from '../database/grantParity.js';
import { connectPostgres } from './connect.js';
import { DEFAULT_SCRAM_ITERATIONS, scramSha256Verifier } from './scram.js';

const { escapeIdentifier: ident, escapeLiteral: literal } = pg;

/** PostgreSQL 16+ reports its SCRAM iteration count; older servers answer NULL. */
const ITERATIONS_SQL = "current_setting('scram_iterations', true)";

/** Role attributes compared by grant parity (LOGIN is a given; PASSWORD is ours). */
const ATTRIBUTES = [
  'SUPERUSER',
  'CREATEDB',
  'CREATEROLE',
  'REPLICATION',
  'BYPASSRLS',
  'INHERIT',
] as const;

/** GUCs whose values are lists of identifiers (re-quoted element by element on repair). */
const LIST_SETTINGS = new Set(['search_path', 'temp_tablespaces']);

const DEFAULT_ACL_OBJECTS: Record<string, string> = {
  r: 'TABLES',
  S: 'SEQUENCES',
  f: 'FUNCTIONS',
  T: 'TYPES',
  n: 'SCHEMAS',
};

/** One effective privilege of a PostgreSQL role, with what is needed to grant it. */
export type PgPrivilege = Privilege &
  (
    | { kind: 'membership'; role: string }
    | { kind: 'attribute'; attribute: (typeof ATTRIBUTES)[number] }
    | { kind: 'grant'; sql: (grantee: string) => string }
    | { kind: 'owner'; owner: string }
    | {
        kind: 'default';
        schema: string | null;
        objects: string;
        privilege: string;
        grantee: string;
        grantable: boolean;
      }
    | { kind: 'setting'; database: string | null; name: string; value: string }
  );

const NOT_SYSTEM = (alias: string) =>
  `${alias}.nspname !~ '^pg_' AND ${alias}.nspname <> 'information_schema'`;

/**
 * Functions outside the system schemas. `OFFSET 0` keeps the planner from flattening the
 * subquery: it would otherwise check the privilege of every one of the ~3,000 built-in
 * functions before dropping them by schema (30 ms of a 35 ms privilege read, measured).
 */
const USER_FUNCTIONS = `SELECT f.oid, f.proowner, f.proname, f.proargtypes, n.nspname FROM pg_proc f
  JOIN pg_namespace n ON n.oid = f.pronamespace WHERE ${NOT_SYSTEM('n')} OFFSET 0`;

/**
 * A function's name with its schema and argument types, every part qualified. Not
 * `regprocedure::text`: that leaves out whatever the session's search_path makes visible,
 * so two sessions (the current user's, the admin's) would name one function differently,
 * and a GRANT built from one would miss on the other.
 */
const FUNCTION_NAME = (
  f: string,
) => `quote_ident(${f}.nspname) || '.' || quote_ident(${f}.proname) || '(' ||
  coalesce((SELECT string_agg(quote_ident(tn.nspname) || '.' || quote_ident(t.typname), ', ' ORDER BY a.ord)
     FROM unnest(${f}.proargtypes::oid[]) WITH ORDINALITY AS a(typ, ord)
     JOIN pg_type t ON t.oid = a.typ JOIN pg_namespace tn ON tn.oid = t.typnamespace), '') || ')'`;

/** Effective object privileges: a user's own, through PUBLIC and through memberships. */
const OBJECT_PRIVILEGES_SQL = `
SELECT 'DATABASE' AS kind, d.datname AS schema, NULL::text AS name, p.priv AS privilege
  FROM pg_database d CROSS JOIN unnest(ARRAY['CONNECT','CREATE','TEMPORARY']) AS p(priv)
  WHERE d.datallowconn AND NOT d.datistemplate AND has_database_privilege($1, d.oid, p.priv)
UNION ALL
SELECT 'SCHEMA', n.nspname, NULL, p.priv
  FROM pg_namespace n CROSS JOIN unnest(ARRAY['USAGE','CREATE']) AS p(priv)
  WHERE ${NOT_SYSTEM('n')} AND has_schema_privilege($1, n.oid, p.priv)
UNION ALL
SELECT 'TABLE', n.nspname, c.relname, p.priv
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  CROSS JOIN unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) AS p(priv)
  WHERE c.relkind IN ('r','v','m','f','p') AND ${NOT_SYSTEM('n')} AND has_table_privilege($1, c.oid, p.priv)
UNION ALL
SELECT 'SEQUENCE', n.nspname, c.relname, p.priv
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  CROSS JOIN unnest(ARRAY['USAGE','SELECT','UPDATE']) AS p(priv)
  WHERE c.relkind = 'S' AND ${NOT_SYSTEM('n')} AND has_sequence_privilege($1, c.oid, p.priv)
UNION ALL
SELECT 'FUNCTION', f.nspname, ${FUNCTION_NAME('f')}, 'EXECUTE'
  FROM (${USER_FUNCTIONS}) f WHERE has_function_privilege($1, f.oid, 'EXECUTE')`;

/** Objects a user can act as owner of (it owns them, or inherits from the owning role). */
const OWNER_RIGHTS_SQL = `
SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END AS kind,
       n.nspname AS schema, c.relname AS name, pg_get_userbyid(c.relowner) AS owner
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r','v','m','f','p','S') AND ${NOT_SYSTEM('n')} AND pg_has_role($1, c.relowner, 'USAGE')
UNION ALL
SELECT 'SCHEMA', n.nspname, NULL, pg_get_userbyid(n.nspowner)
  FROM pg_namespace n WHERE ${NOT_SYSTEM('n')} AND pg_has_role($1, n.nspowner, 'USAGE')
UNION ALL
SELECT 'FUNCTION', f.nspname, ${FUNCTION_NAME('f')}, pg_get_userbyid(f.proowner)
  FROM (${USER_FUNCTIONS}) f WHERE pg_has_role($1, f.proowner, 'USAGE')`;

const DEFAULT_ACL_SQL = `
SELECT n.nspname AS schema, d.defaclobjtype AS objtype, a.privilege_type AS privilege, a.is_grantable AS grantable,
       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee
  FROM pg_default_acl d
  LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
  CROSS JOIN LATERAL aclexplode(d.defaclacl) AS a
  WHERE d.defaclrole = (SELECT oid FROM pg_roles WHERE rolname = $1)`;

const SETTINGS_SQL = `
SELECT d.datname AS database, s.setting
  FROM pg_db_role_setting r
  LEFT JOIN pg_database d ON d.oid = r.setdatabase
  CROSS JOIN LATERAL unnest(r.setconfig) AS s(setting)
  WHERE r.setrole = (SELECT oid FROM pg_roles WHERE rolname = $1)`;

/** `$1` (one user) in the per-part queries becomes the outer row's user name. */
const forUser = (sql: string) => sql.replaceAll('$1', 'u.name');

/**
 * Every part of the effective privileges of each user in `$1` (text[]), one row per user,
 * each part a JSON array; `$2` holds the pair's two names (memberships between them are
 * the pair's own and not compared).
 */
const PRIVILEGES_SQL = `
SELECT u.name AS username,
  (SELECT coalesce(json_agg(r.rolname ORDER BY r.rolname), '[]')
     FROM pg_roles r WHERE pg_has_role(u.name, r.oid, 'MEMBER') AND r.rolname <> ALL($2::text[])) AS memberships,
  (SELECT json_build_object('SUPERUSER', rolsuper, 'CREATEDB', rolcreatedb, 'CREATEROLE', rolcreaterole,
                            'REPLICATION', rolreplication, 'BYPASSRLS', rolbypassrls, 'INHERIT', rolinherit)
     FROM pg_roles WHERE rolname = u.name) AS attributes,
  (SELECT coalesce(json_agg(o), '[]') FROM (${forUser(OBJECT_PRIVILEGES_SQL)}) o) AS objects,
  (SELECT coalesce(json_agg(o), '[]') FROM (${forUser(OWNER_RIGHTS_SQL)}) o) AS owned,
  (SELECT coalesce(json_agg(o), '[]') FROM (${forUser(DEFAULT_ACL_SQL)}) o) AS defaults,
  (SELECT coalesce(json_agg(o), '[]') FROM (${forUser(SETTINGS_SQL)}) o) AS settings
FROM unnest($1::text[]) AS u(name)`;

/** One row of {@link PRIVILEGES_SQL} (pg parses the JSON columns). */
interface PrivilegeRow {
  username: string;
  memberships: string[];
  attributes: Record<string, boolean> | null;
  objects: { kind: string; schema: string; name: string | null; privilege: string }[];
  owned: { kind: string; schema: string; name: string | null; owner: string }[];
  defaults: {
    schema: string | null;
    objtype: string;
    privilege: string;
    grantable: boolean;
    grantee: string;
  }[];
  settings: { database: string | null; setting: string }[];
}

/** The privileges of `username` from its {@link PRIVILEGES_SQL} row, normalised for `pair`. */
function privilegesFromRow(row: PrivilegeRow, username: string, pair: UserPair): PgPrivilege[] {
  const out: PgPrivilege[] = [];
  const pairNames = [pair.base, pair.clone];
  for (const role of row.memberships) {
    out.push({ key: `MEMBER OF ${ident(role)}`, kind: 'membership', role });
  }
  for (const attribute of ATTRIBUTES) {
    if (row.attributes?.[attribute])
      out.push({ key: `ROLE ATTRIBUTE ${attribute}`, kind: 'attribute', attribute });
  }
  for (const o of row.objects) {
    // FUNCTION names come qualified and quoted, with their argument types (FUNCTION_NAME).
    const object =
      o.kind === 'DATABASE'
        ? ident(o.schema)
        : o.kind === 'FUNCTION'
          ? (o.name as string)
          : qualified(o.schema, o.name);
    out.push({
      key: `${o.privilege} ON ${o.kind} ${object}`,
      kind: 'grant',
      sql: (grantee) => `GRANT ${o.privilege} ON ${o.kind} ${object} TO ${ident(grantee)}`,
    });
  }
  for (const o of row.owned) {
    const object = o.kind === 'FUNCTION' ? (o.name as string) : qualified(o.schema, o.name);
    out.push({ key: `OWNER RIGHTS ON ${o.kind} ${object}`, kind: 'owner', owner: o.owner });
  }
  for (const d of row.defaults) {
    const objects = DEFAULT_ACL_OBJECTS[d.objtype] ?? d.objtype;
    const grantee =
      d.grantee === username
        ? '<self>'
        : pairNames.includes(d.grantee)
          ? '<other user>'
          : d.grantee;
    out.push({
      key: `DEFAULT PRIVILEGE ${d.privilege} ON ${objects}${d.schema ? ` IN SCHEMA ${ident(d.schema)}` : ''} TO ${grantee === 'PUBLIC' || grantee.startsWith('<') ? grantee : ident(grantee)}${d.grantable ? ' WITH GRANT OPTION' : ''}`,
      kind: 'default',
      schema: d.schema,
      objects,
      privilege: d.privilege,
      grantee,
      grantable: d.grantable,
    });
  }
  for (const { database, setting } of row.settings) {
    const at = setting.indexOf('=');
    const name = at < 0 ? setting : setting.slice(0, at);
    const value = at < 0 ? '' : setting.slice(at + 1);
    out.push({
      key: `SETTING ${name}=${value}${database ? ` IN DATABASE ${ident(database)}` : ''}`,
      kind: 'setting',
      database,
      name,
      value,
    });
  }
  return out;
}

function qualified(schema: string, name: string | null): string {
  return name === null ? ident(schema) : `${ident(schema)}.${ident(name)}`;
}

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
  readonly privilegesReadableByAnyUser = true;
  readonly connect: Connector;

  constructor(connect: Connector = connectPostgres) {
    this.connect = connect;
  }

  async probe(session: DatabaseSession): Promise<void> {
    await runQuery(session, 'test query', 'SELECT 1 AS ok');
  }

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
    const rows = await runQuery<PrivilegeRow>(admin, 'read privileges', PRIVILEGES_SQL, [
      [...usernames],
      [pair.base, pair.clone],
    ]);
    return usernames.map((username) => {
      const row = rows.find((r) => r.username === username);
      return row ? privilegesFromRow(row, username, pair) : [];
    });
  }

  repair(
    admin: DatabaseSession,
    missing: readonly PgPrivilege[],
    pair: UserPair,
  ): Promise<RepairFailure[]> {
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
