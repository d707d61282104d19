import mysql from 'mysql2';
import { ConfigurationError } from '../../errors.js';
import type { UsernameLimit } from '../../kinds/usernames.js';
import type {
  DatabaseDialect,
  DialectSet,
  PasswordChange,
  Privilege,
  RepairFailure,
  UserPair,
} from '../database/dialect.js';
import {
  type Connector,
  type DatabaseSession,
  queryFailure,
  runQuery,
} from '../database/driver.js';
import { DatabaseQueryError } from '../database/errors.js';
import { type GrantStatement, grantEach } from '../database/grantParity.js';
import { connectMysql } from './connect.js';
import { flavorOf, NATIVE_PLUGIN, type ServerFlavor, text, VERSION_COLUMNS } from './flavors.js';

/** Placeholder for the account in normalised `SHOW GRANTS` lines. */
const ACCOUNT = '{{account}}';

/** One privilege of a MySQL/MariaDB account, as `SHOW GRANTS` or `mysql.user` show it. */
export type MysqlPrivilege = Privilege &
  (
    | { kind: 'account'; host: string }
    | { kind: 'grant'; host: string; statement: string }
    | { kind: 'tls'; host: string; require: string; params: string[] }
  );

const backtick = (name: string) => `\`${name.replace(/`/g, '``')}\``;

/**
 * Makes a `SHOW GRANTS` line comparable between two users: the account is replaced by a
 * placeholder, and authentication (`IDENTIFIED BY PASSWORD '*…'`: a hash, never compared or
 * logged) and `REQUIRE` clauses (compared separately, from mysql.user) are removed.
 */
export function normaliseGrant(line: string, username: string, host: string): string {
  const accounts = [
    `${backtick(username)}@${backtick(host)}`,
    `'${username.replace(/'/g, "\\'")}'@'${host.replace(/'/g, "\\'")}'`,
  ];
  let out = line
    .replace(/ IDENTIFIED (?:BY PASSWORD|BY|VIA|WITH) .*?(?= REQUIRE | WITH (?:GRANT|MAX_)|$)/, '')
    .replace(/ REQUIRE .*?(?= WITH (?:GRANT|MAX_)|$)/, '');
  for (const account of accounts) out = out.split(account).join(ACCOUNT);
  return out;
}

/** The mysql.user columns grant parity and password changes need (never a password hash). */
const ACCOUNT_COLUMNS =
  'User AS user, Host AS host, plugin, ssl_type, ssl_cipher, x509_issuer, x509_subject';

/**
 * MySQL, Aurora MySQL and MariaDB. Alternating users are handled per account (`user@host`
 * row of mysql.user): the clone gets an account for every host the current user has, with
 * the same `SHOW GRANTS` (including `WITH GRANT OPTION`, roles and default roles) and the
 * same TLS requirements.
 */
export class MysqlDialect implements DatabaseDialect<MysqlPrivilege> {
  readonly label: string;
  readonly secretDefaults = { defaultPort: 3306 };
  readonly usernameLimit: UsernameLimit;
  readonly connect: Connector;

  constructor(options: { label: string; maxUsernameLength: number; connect?: Connector }) {
    this.label = options.label;
    // mysql.user stores names as utf8mb3: a 4-byte character cannot be created or compared.
    this.usernameLimit = { max: options.maxUsernameLength, unit: 'characters', bmpOnly: true };
    this.connect = options.connect ?? connectMysql;
  }

  async probe(session: DatabaseSession): Promise<void> {
    if (!session.ping) {
      await runQuery(session, 'test query', 'SELECT 1 AS ok');
      return;
    }
    // A constant statement: the session need not be prepared for escaped values first.
    await session.ping().catch((error: unknown) => {
      throw queryFailure('test query', error);
    });
  }

  /** Per session: `ensureUser` and `setUserPassword` share one admin session. */
  readonly #flavors = new WeakMap<DatabaseSession, Promise<ServerFlavor>>();

  #flavor(session: DatabaseSession): Promise<ServerFlavor> {
    let flavor = this.#flavors.get(session);
    if (!flavor) {
      flavor = this.#readFlavor(session);
      flavor.catch(() => this.#flavors.delete(session));
      this.#flavors.set(session, flavor);
    }
    return flavor;
  }

  async #readFlavor(session: DatabaseSession): Promise<ServerFlavor> {
    const [row] = await runQuery<Record<string, unknown>>(
      session,
      'read server version',
      `SELECT ${VERSION_COLUMNS}`,
    );
    return flavorOf(row);
  }

  /**
   * Per admin session, the last read of mysql.user: `ensureUser`, grant parity and
   * `setUserPassword` share it (one round trip instead of three); whatever adds or alters
   * accounts (creation, a repair) forgets it.
   */
  readonly #accountReads = new WeakMap<
    DatabaseSession,
    { names: ReadonlySet<string>; rows: Promise<Record<string, unknown>[]> }
  >();

  /**
   * The mysql.user rows (accounts, plugin, TLS requirements) of `usernames`, in one read;
   * on a session whose server flavour is not known yet, the flavour comes in the same read.
   */
  #accountRows(admin: DatabaseSession, usernames: readonly string[]) {
    const cached = this.#accountReads.get(admin);
    if (cached && usernames.every((name) => cached.names.has(name))) return cached.rows;
    const withFlavor = !this.#flavors.has(admin);
    // The version columns on every row rather than a row of their own joined to the
    // accounts: that join cost MariaDB 0.9 ms more per read (measured, 10 accounts).
    const rows = runQuery<Record<string, unknown>>(
      admin,
      'read accounts',
      `SELECT ${withFlavor ? `${VERSION_COLUMNS}, ` : ''}${ACCOUNT_COLUMNS} FROM mysql.user WHERE User IN (?) ORDER BY Host`,
      [[...usernames]],
    );
    if (withFlavor) {
      // No accounts (nothing to rotate): the flavour is read on its own, if ever needed.
      const flavor = rows.then(([row]) => (row ? flavorOf(row) : this.#readFlavor(admin)));
      flavor.catch(() => this.#flavors.delete(admin));
      this.#flavors.set(admin, flavor);
    }
    const read = { names: new Set(usernames), rows };
    rows.catch(() => {
      if (this.#accountReads.get(admin) === read) this.#accountReads.delete(admin);
    });
    this.#accountReads.set(admin, read);
    return rows;
  }

  /** Host → authentication plugin of each of `usernames`' accounts. */
  async #accounts(admin: DatabaseSession, ...usernames: string[]): Promise<Map<string, string>[]> {
    const rows = await this.#accountRows(admin, usernames);
    return usernames.map(
      (username) =>
        new Map(
          rows.filter((r) => text(r.user) === username).map((r) => [text(r.host), text(r.plugin)]),
        ),
    );
  }

  async changeOwnPassword(session: DatabaseSession, change: PasswordChange): Promise<void> {
    await (await this.#flavor(session)).ownPassword(session, change);
  }

  async ensureUser(
    admin: DatabaseSession,
    template: string,
    change: PasswordChange,
  ): Promise<boolean> {
    // Accounts first: the flavour comes with them.
    const [templateAccounts = new Map<string, string>(), existing = new Map<string, string>()] =
      await this.#accounts(admin, template, change.username);
    const flavor = await this.#flavor(admin);
    if (templateAccounts.size === 0) {
      throw new DatabaseQueryError(
        `look up of the accounts of user "${template}" (none in mysql.user)`,
        undefined,
      );
    }
    let created = false;
    for (const [host, plugin] of templateAccounts) {
      if (existing.has(host)) continue;
      if (!/^[A-Za-z0-9_]+$/.test(plugin)) {
        throw new DatabaseQueryError(
          `create user (unsupported authentication plugin of "${template}")`,
          undefined,
        );
      }
      this.#accountReads.delete(admin);
      await flavor.createAccount(admin, host, plugin || NATIVE_PLUGIN, change);
      created = true;
    }
    return created;
  }

  async setUserPassword(admin: DatabaseSession, change: PasswordChange): Promise<void> {
    const [accounts = new Map<string, string>()] = await this.#accounts(admin, change.username);
    const flavor = await this.#flavor(admin);
    for (const [host, plugin] of accounts) {
      await flavor.setAccountPassword(admin, host, plugin, change);
    }
  }

  /**
   * Accounts and TLS requirements of every user in one read of mysql.user (shared with
   * `ensureUser`), then `SHOW GRANTS` per account (it takes one account at a time).
   */
  async privileges(
    admin: DatabaseSession,
    usernames: readonly string[],
  ): Promise<MysqlPrivilege[][]> {
    const rows = usernames.length === 0 ? [] : await this.#accountRows(admin, usernames);
    const out: MysqlPrivilege[][] = [];
    for (const username of usernames) {
      const privileges: MysqlPrivilege[] = [];
      for (const row of rows.filter((r) => text(r.user) === username)) {
        const host = text(row.host);
        const at = `ACCOUNT @${host}`;
        privileges.push({ key: `${at} EXISTS`, kind: 'account', host });
        const grants = await runQuery<Record<string, unknown>>(
          admin,
          'show grants',
          'SHOW GRANTS FOR ?@?',
          [username, host],
        );
        for (const grant of grants) {
          const statement = normaliseGrant(text(Object.values(grant)[0]), username, host);
          privileges.push({
            key: `${at}: ${statement.replace(ACCOUNT, '<user>')}`,
            kind: 'grant',
            host,
            statement,
          });
        }
        privileges.push(tlsPrivilege(row, host));
      }
      out.push(privileges);
    }
    return out;
  }

  repair(
    admin: DatabaseSession,
    missing: readonly MysqlPrivilege[],
    pair: UserPair,
  ): Promise<RepairFailure[]> {
    // A repair may add accounts or change their TLS requirements.
    this.#accountReads.delete(admin);
    return grantEach(admin, missing, (privilege) => grantStatements(privilege, pair));
  }
}

/** An account's TLS requirements (its mysql.user row) as a comparable privilege. */
function tlsPrivilege(row: Record<string, unknown>, host: string): MysqlPrivilege {
  const type = text(row.ssl_type);
  const cipher = text(row.ssl_cipher);
  const issuer = text(row.x509_issuer);
  const subject = text(row.x509_subject);
  let require = 'NONE';
  const params: string[] = [];
  if (type === 'ANY') require = 'SSL';
  else if (type === 'X509') require = 'X509';
  else if (type === 'SPECIFIED') {
    const parts: string[] = [];
    for (const [word, value] of [
      ['CIPHER', cipher],
      ['ISSUER', issuer],
      ['SUBJECT', subject],
    ] as const) {
      if (value !== '') {
        parts.push(`${word} ?`);
        params.push(value);
      }
    }
    require = parts.length > 0 ? parts.join(' AND ') : 'NONE';
  }
  return {
    key: `ACCOUNT @${host}: REQUIRE ${type || 'NONE'}${cipher ? ` CIPHER '${cipher}'` : ''}${issuer ? ` ISSUER '${issuer}'` : ''}${subject ? ` SUBJECT '${subject}'` : ''}`,
    kind: 'tls',
    host,
    require,
    params,
  };
}

/** The statements that give one privilege of `pair.current` to `pair.pending`. */
function grantStatements(privilege: MysqlPrivilege, pair: UserPair): GrantStatement[] {
  switch (privilege.kind) {
    case 'account':
      // Accounts are created with their password by ensureUser; nothing to do here.
      throw new DatabaseQueryError(`create account @${privilege.host}`, undefined);
    case 'grant': {
      const account = mysql.format('?@?', [pair.pending, privilege.host]);
      return [
        {
          operation: 'grant privilege',
          sql: privilege.statement.split(ACCOUNT).join(account),
        },
      ];
    }
    case 'tls':
      return [
        {
          operation: 'set TLS requirements',
          sql: `ALTER USER ?@? REQUIRE ${privilege.require}`,
          params: [pair.pending, privilege.host, ...privilege.params],
        },
      ];
  }
}

/** AWS's MySQL alternating-users limit: `USERNAME_CHARACTER_LIMIT`, default 16. */
export function mysqlUsernameLimitFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.USERNAME_CHARACTER_LIMIT?.trim();
  if (raw === undefined || raw === '') return 16;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 255) {
    throw new ConfigurationError(
      'USERNAME_CHARACTER_LIMIT',
      'must be a whole number from 1 to 255',
    );
  }
  return Number(raw);
}

/** MariaDB's username limit, as AWS's MariaDB function. */
export const MARIADB_USERNAME_LIMIT = 80;

/**
 * The dialects of the MySQL function: `mysql`, `aurora-mysql` and `mariadb` (which has its
 * own username limit).
 */
export function mysqlDialects(
  env: NodeJS.ProcessEnv = process.env,
  connect: Connector = connectMysql,
): DialectSet {
  const mysqlDialect = new MysqlDialect({
    label: 'MySQL',
    maxUsernameLength: mysqlUsernameLimitFromEnv(env),
    connect,
  });
  const mariadb = new MysqlDialect({
    label: 'MariaDB',
    maxUsernameLength: MARIADB_USERNAME_LIMIT,
    connect,
  });
  return {
    name: 'mysql',
    defaultEngine: 'mysql',
    byEngine: { mysql: mysqlDialect, 'aurora-mysql': mysqlDialect, mariadb },
  };
}
