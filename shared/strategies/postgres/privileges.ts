import pg from 'pg';
import type { Privilege, UserPair } from '../database/dialect.js';

const { escapeIdentifier: ident, escapeLiteral: literal } = pg;

/*
 * PostgreSQL's effective privileges of a role, read in one query (any user's session may
 * make it) and decoded into the keys grant parity compares.
 */

/** PostgreSQL 16+ reports its SCRAM iteration count; older servers answer NULL. */
export const ITERATIONS_SQL = "pg_catalog.current_setting('scram_iterations', true)";

/** Role attributes compared by grant parity (LOGIN is a given; PASSWORD is ours). */
const ATTRIBUTES = [
  'SUPERUSER',
  'CREATEDB',
  'CREATEROLE',
  'REPLICATION',
  'BYPASSRLS',
  'INHERIT',
] as const;

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

/** PostgreSQL's first OID for objects made after initdb (`FirstNormalObjectId`). */
const FIRST_NORMAL_OBJECT_ID = 16384;

const NOT_SYSTEM = (alias: string) =>
  `${alias}.nspname !~ '^pg_' AND ${alias}.nspname <> 'information_schema'`;

/**
 * Functions and relations outside the system schemas, read once per statement (for every
 * part and user that needs them) rather than once per reference: materialised first, so
 * the privilege functions run only on them, never on the ~3,000 built-in functions (30 ms
 * of a 35 ms privilege read when the planner flattened them in, measured). Every object
 * made after initdb has an OID of at least 16384 (FirstNormalObjectId; OIDs wrap around to
 * it, never below), so the scans start from the OID index instead of reading every built-in
 * row: 5.0 ms down to 3.3 ms for pg_proc on a new session (measured).
 */
const USER_OBJECTS_CTE = `WITH user_functions AS MATERIALIZED (
  SELECT f.oid, f.proowner, n.nspname FROM pg_proc f
    JOIN pg_namespace n ON n.oid = f.pronamespace
    WHERE f.oid >= ${FIRST_NORMAL_OBJECT_ID} AND ${NOT_SYSTEM('n')}
), user_relations AS MATERIALIZED (
  SELECT c.oid, c.relname, c.relkind, c.relowner, n.nspname FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid >= ${FIRST_NORMAL_OBJECT_ID} AND c.relkind IN ('r','v','m','f','p','S') AND ${NOT_SYSTEM('n')}
)`;

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
SELECT 'TABLE', c.nspname, c.relname, p.priv
  FROM user_relations c
  CROSS JOIN unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) AS p(priv)
  WHERE c.relkind <> 'S' AND has_table_privilege($1, c.oid, p.priv)
UNION ALL
SELECT 'SEQUENCE', c.nspname, c.relname, p.priv
  FROM user_relations c CROSS JOIN unnest(ARRAY['USAGE','SELECT','UPDATE']) AS p(priv)
  WHERE c.relkind = 'S' AND has_sequence_privilege($1, c.oid, p.priv)
UNION ALL
SELECT 'FUNCTION', f.nspname, f.oid::regprocedure::text, 'EXECUTE'
  FROM user_functions f WHERE has_function_privilege($1, f.oid, 'EXECUTE')`;

/** Objects a user can act as owner of (it owns them, or inherits from the owning role). */
const OWNER_RIGHTS_SQL = `
SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END AS kind,
       c.nspname AS schema, c.relname AS name, pg_get_userbyid(c.relowner) AS owner
  FROM user_relations c WHERE pg_has_role($1, c.relowner, 'USAGE')
UNION ALL
SELECT 'SCHEMA', n.nspname, NULL, pg_get_userbyid(n.nspowner)
  FROM pg_namespace n WHERE ${NOT_SYSTEM('n')} AND pg_has_role($1, n.nspowner, 'USAGE')
UNION ALL
SELECT 'FUNCTION', f.nspname, f.oid::regprocedure::text, pg_get_userbyid(f.proowner)
  FROM user_functions f WHERE pg_has_role($1, f.proowner, 'USAGE')`;

const DEFAULT_ACL_SQL = `
SELECT n.nspname AS schema, d.defaclobjtype AS objtype, a.privilege_type AS privilege, a.is_grantable AS grantable,
       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee
  FROM pg_default_acl d
  LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
  CROSS JOIN LATERAL aclexplode(d.defaclacl) AS a
  WHERE d.defaclrole = to_regrole(quote_ident($1))::oid`;

const SETTINGS_SQL = `
SELECT d.datname AS database, s.setting
  FROM pg_db_role_setting r
  LEFT JOIN pg_database d ON d.oid = r.setdatabase
  CROSS JOIN LATERAL unnest(r.setconfig) AS s(setting)
  WHERE r.setrole = to_regrole(quote_ident($1))::oid`;

/** `$1` (one user) in the per-part queries becomes the outer row's user name. */
const forUser = (sql: string) => sql.replaceAll('$1', 'u.name');

/** Each part of a user's effective privileges, a JSON array (or object) per outer row `u`. */
const PRIVILEGE_PARTS = {
  memberships: `(SELECT coalesce(json_agg(r.rolname ORDER BY r.rolname), '[]')
     FROM pg_roles r WHERE pg_has_role(u.name, r.oid, 'MEMBER') AND r.rolname <> ALL($2::text[]))`,
  attributes: `(SELECT json_build_object('SUPERUSER', rolsuper, 'CREATEDB', rolcreatedb, 'CREATEROLE', rolcreaterole,
                            'REPLICATION', rolreplication, 'BYPASSRLS', rolbypassrls, 'INHERIT', rolinherit)
     FROM pg_roles WHERE rolname = u.name)`,
  objects: `(SELECT coalesce(json_agg(o), '[]') FROM (${forUser(OBJECT_PRIVILEGES_SQL)}) o)`,
  owned: `(SELECT coalesce(json_agg(o), '[]') FROM (${forUser(OWNER_RIGHTS_SQL)}) o)`,
  defaults: `(SELECT coalesce(json_agg(o), '[]') FROM (${forUser(DEFAULT_ACL_SQL)}) o)`,
  settings: `(SELECT coalesce(json_agg(o), '[]') FROM (${forUser(SETTINGS_SQL)}) o)`,
} as const;
type PrivilegePart = keyof typeof PRIVILEGE_PARTS;

/**
 * The `parts` of the effective privileges of each user in `$1` (text[]), one row per user
 * that exists (so a user not created yet is no error, just no row). A role is looked up by
 * name with `to_regrole(quote_ident(…))`, a cache lookup, rather than through the pg_roles
 * view, which a new session has to parse and plan for every use (about 1.7 ms of a 16 ms
 * read, measured); the row is kept only when that role's name is the name given, since
 * identifier parsing truncates a name over 63 bytes to another role's;
 * `$2` holds the pair's two names (memberships between them are the pair's own and not
 * compared) and is a parameter only when `memberships` is read.
 */
export const privilegesSql = (parts: readonly PrivilegePart[]) => `${USER_OBJECTS_CTE}
SELECT u.name AS username,
  ${parts.map((part) => `${PRIVILEGE_PARTS[part]} AS ${part}`).join(',\n  ')}
FROM unnest($1::text[]) AS u(name)
WHERE pg_get_userbyid(to_regrole(quote_ident(u.name))) = u.name`;

export const PRIVILEGES_SQL = privilegesSql([
  'memberships',
  'attributes',
  'objects',
  'owned',
  'defaults',
  'settings',
]);

/**
 * {@link PRIVILEGES_SQL} with its parameters written in as literals, for a statement list
 * (the simple protocol takes no parameters). User names are identifiers, never secrets.
 */
export function privilegesSqlFor(usernames: readonly string[], pair: UserPair): string {
  const [names, pairNames] = privilegeParams(usernames, pair) as [string[], string[]];
  const array = (list: readonly string[]) =>
    `ARRAY[${list.map((name) => literal(name)).join(', ')}]::text[]`;
  // Replacer functions: a replacement string would read `$'`, `$&` in a name as patterns.
  return PRIVILEGES_SQL.replace('$1::text[]', () => array(names)).replace('$2::text[]', () =>
    array(pairNames),
  );
}

/** One row of {@link PRIVILEGES_SQL} (pg parses the JSON columns). */
export interface PrivilegeRow {
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
    // FUNCTION names come from regprocedure, quoted and with argument types; read with the
    // search_path pinned to pg_catalog (PostgresDialect), so every session names a function
    // alike, schema included, and a GRANT built from one read finds it on the other.
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

/** Parameters of the privilege queries that read memberships: the users, then the pair. */
export function privilegeParams(usernames: readonly string[], pair: UserPair): unknown[] {
  return [[...usernames], [pair.base, pair.clone]];
}

/** One list per name of `usernames`, in order; a user without a row has none. */
export function privilegesFromRows(
  rows: readonly PrivilegeRow[],
  usernames: readonly string[],
  pair: UserPair,
): PgPrivilege[][] {
  return usernames.map((username) => {
    const row = rows.find((r) => r.username === username);
    return row ? privilegesFromRow(row, username, pair) : [];
  });
}

/** `schema.name` (or just `schema`), each part quoted. */
function qualified(schema: string, name: string | null): string {
  return name === null ? ident(schema) : `${ident(schema)}.${ident(name)}`;
}
