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
SELECT 'FUNCTION', n.nspname, f.oid::regprocedure::text, 'EXECUTE'
  FROM pg_proc f JOIN pg_namespace n ON n.oid = f.pronamespace
  WHERE ${NOT_SYSTEM('n')} AND has_function_privilege($1, f.oid, 'EXECUTE')`;

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
SELECT 'FUNCTION', n.nspname, f.oid::regprocedure::text, pg_get_userbyid(f.proowner)
  FROM pg_proc f JOIN pg_namespace n ON n.oid = f.pronamespace
  WHERE ${NOT_SYSTEM('n')} AND pg_has_role($1, f.proowner, 'USAGE')`;

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
  readonly connect: Connector;

  constructor(connect: Connector = connectPostgres) {
    this.connect = connect;
  }

  async probe(session: DatabaseSession): Promise<void> {
    await runQuery(session, 'test query', 'SELECT 1 AS ok');
  }

  /** `scram_iterations` on PostgreSQL 16+; 4096 (fixed) before. */
  async #iterations(session: DatabaseSession): Promise<number> {
    const rows = await runQuery<{ iterations: string | null }>(
      session,
      'read scram_iterations',
      "SELECT current_setting('scram_iterations', true) AS iterations",
    );
    const value = Number(rows[0]?.iterations ?? Number.NaN);
    return Number.isInteger(value) && value > 0 ? value : DEFAULT_SCRAM_ITERATIONS;
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
    const rows = await runQuery(
      admin,
      'look up role',
      'SELECT 1 FROM pg_roles WHERE rolname = $1',
      [change.username],
    );
    if (rows.length > 0) return false;
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

  async privileges(
    admin: DatabaseSession,
    username: string,
    pair: UserPair,
  ): Promise<PgPrivilege[]> {
    const out: PgPrivilege[] = [];
    const pairNames = [pair.base, pair.clone];
    const memberships = await runQuery<{ rolname: string }>(
      admin,
      'read role memberships',
      "SELECT rolname FROM pg_roles WHERE pg_has_role($1, oid, 'MEMBER') AND rolname <> ALL($2::text[]) ORDER BY rolname",
      [username, pairNames],
    );
    for (const { rolname } of memberships) {
      out.push({ key: `MEMBER OF ${ident(rolname)}`, kind: 'membership', role: rolname });
    }
    const [attributes] = await runQuery<Record<string, boolean>>(
      admin,
      'read role attributes',
      'SELECT rolsuper AS "SUPERUSER", rolcreatedb AS "CREATEDB", rolcreaterole AS "CREATEROLE", rolreplication AS "REPLICATION", rolbypassrls AS "BYPASSRLS", rolinherit AS "INHERIT" FROM pg_roles WHERE rolname = $1',
      [username],
    );
    for (const attribute of ATTRIBUTES) {
      if (attributes?.[attribute])
        out.push({ key: `ROLE ATTRIBUTE ${attribute}`, kind: 'attribute', attribute });
    }
    const objects = await runQuery<{
      kind: string;
      schema: string;
      name: string | null;
      privilege: string;
    }>(admin, 'read object privileges', OBJECT_PRIVILEGES_SQL, [username]);
    for (const row of objects) {
      // FUNCTION names come from regprocedure, already quoted and with argument types.
      const object =
        row.kind === 'DATABASE'
          ? ident(row.schema)
          : row.kind === 'FUNCTION'
            ? (row.name as string)
            : qualified(row.schema, row.name);
      const key = `${row.privilege} ON ${row.kind} ${object}`;
      out.push({
        key,
        kind: 'grant',
        sql: (grantee) => `GRANT ${row.privilege} ON ${row.kind} ${object} TO ${ident(grantee)}`,
      });
    }
    const owned = await runQuery<{
      kind: string;
      schema: string;
      name: string | null;
      owner: string;
    }>(admin, 'read ownership', OWNER_RIGHTS_SQL, [username]);
    for (const row of owned) {
      const object =
        row.kind === 'FUNCTION' ? (row.name as string) : qualified(row.schema, row.name);
      out.push({ key: `OWNER RIGHTS ON ${row.kind} ${object}`, kind: 'owner', owner: row.owner });
    }
    const defaults = await runQuery<{
      schema: string | null;
      objtype: string;
      privilege: string;
      grantable: boolean;
      grantee: string;
    }>(admin, 'read default privileges', DEFAULT_ACL_SQL, [username]);
    for (const row of defaults) {
      const objects = DEFAULT_ACL_OBJECTS[row.objtype] ?? row.objtype;
      const grantee =
        row.grantee === username
          ? '<self>'
          : pairNames.includes(row.grantee)
            ? '<other user>'
            : row.grantee;
      out.push({
        key: `DEFAULT PRIVILEGE ${row.privilege} ON ${objects}${row.schema ? ` IN SCHEMA ${ident(row.schema)}` : ''} TO ${grantee === 'PUBLIC' || grantee.startsWith('<') ? grantee : ident(grantee)}${row.grantable ? ' WITH GRANT OPTION' : ''}`,
        kind: 'default',
        schema: row.schema,
        objects,
        privilege: row.privilege,
        grantee,
        grantable: row.grantable,
      });
    }
    const settings = await runQuery<{ database: string | null; setting: string }>(
      admin,
      'read role settings',
      SETTINGS_SQL,
      [username],
    );
    for (const row of settings) {
      const at = row.setting.indexOf('=');
      const name = at < 0 ? row.setting : row.setting.slice(0, at);
      const value = at < 0 ? '' : row.setting.slice(at + 1);
      out.push({
        key: `SETTING ${name}=${value}${row.database ? ` IN DATABASE ${ident(row.database)}` : ''}`,
        kind: 'setting',
        database: row.database,
        name,
        value,
      });
    }
    return out;
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
