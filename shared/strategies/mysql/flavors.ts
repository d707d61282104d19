import type { PasswordChange } from '../database/dialect.js';
import { type DatabaseSession, runQuery } from '../database/driver.js';
import { mysqlNativePasswordHash } from './nativePassword.js';

/*
 * How MySQL and MariaDB differ in setting passwords, and how a session tells which one it
 * is talking to. Taking a MariaDB for MySQL would send plaintext passwords where MariaDB
 * takes a hash.
 */

/** MySQL's and MariaDB's classic plugin, whose hash we can compute. */
export const NATIVE_PLUGIN = 'mysql_native_password';

/** A mysql2 column value as text (binary and BLOB columns come as Buffers). */
export function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
}

/** MySQL or MariaDB behaviour that differs by server, chosen from `VERSION()`. */
export interface ServerFlavor {
  ownPassword(session: DatabaseSession, change: PasswordChange): Promise<void>;
  createAccount(
    admin: DatabaseSession,
    host: string,
    plugin: string,
    change: PasswordChange,
  ): Promise<void>;
  setAccountPassword(
    admin: DatabaseSession,
    host: string,
    plugin: string,
    change: PasswordChange,
  ): Promise<void>;
}

function nativeHash(change: PasswordChange): string {
  const hash = mysqlNativePasswordHash(change.password);
  change.register(hash);
  return hash;
}

/** MariaDB: `SET PASSWORD` and `CREATE USER … IDENTIFIED BY PASSWORD` take the native hash. */
const MARIADB: ServerFlavor = {
  async ownPassword(session, change) {
    await runQuery(session, 'set password', 'SET PASSWORD = ?', [nativeHash(change)]);
  },
  async createAccount(admin, host, _plugin, change) {
    await runQuery(admin, 'create user', 'CREATE USER ?@? IDENTIFIED BY PASSWORD ?', [
      change.username,
      host,
      nativeHash(change),
    ]);
  },
  async setAccountPassword(admin, host, _plugin, change) {
    await runQuery(admin, 'set password', 'SET PASSWORD FOR ?@? = ?', [
      change.username,
      host,
      nativeHash(change),
    ]);
  },
};

/**
 * MySQL 5.7/8.x: `mysql_native_password` accounts get the hash (`IDENTIFIED WITH … AS`);
 * `caching_sha2_password` and other plugins, and a user changing its own password, get the
 * client-side-escaped plaintext (`SET PASSWORD = '…'`): computing a caching_sha2 hash
 * (SHA-256 crypt with a random salt) is not implemented. See docs/databases.md.
 */
const MYSQL: ServerFlavor = {
  async ownPassword(session, change) {
    await runQuery(session, 'set password', 'SET PASSWORD = ?', [change.password]);
  },
  async createAccount(admin, host, plugin, change) {
    if (plugin === NATIVE_PLUGIN) {
      await runQuery(
        admin,
        'create user',
        `CREATE USER ?@? IDENTIFIED WITH ${NATIVE_PLUGIN} AS ?`,
        [change.username, host, nativeHash(change)],
      );
    } else {
      await runQuery(admin, 'create user', `CREATE USER ?@? IDENTIFIED WITH ${plugin} BY ?`, [
        change.username,
        host,
        change.password,
      ]);
    }
  },
  async setAccountPassword(admin, host, plugin, change) {
    if (plugin === NATIVE_PLUGIN) {
      await runQuery(
        admin,
        'set password',
        `ALTER USER ?@? IDENTIFIED WITH ${NATIVE_PLUGIN} AS ?`,
        [change.username, host, nativeHash(change)],
      );
    } else {
      await runQuery(admin, 'set password', 'ALTER USER ?@? IDENTIFIED BY ?', [
        change.username,
        host,
        change.password,
      ]);
    }
  },
};

/**
 * The server's version and whether it is MariaDB. VERSION() alone is not proof: MariaDB's
 * `version` can be set to look like MySQL 8, and taking a MariaDB for MySQL would send
 * plaintext passwords. `/*M! … *\/` is executed by MariaDB only (MySQL reads it as a
 * comment), whatever the version string says.
 */
export const VERSION_COLUMNS = 'VERSION() AS version, 0 /*M! + 1 */ AS mariadb';

/** The flavour a row holding {@link VERSION_COLUMNS} shows (MySQL when it shows nothing). */
export function flavorOf(row: Record<string, unknown> | undefined): ServerFlavor {
  return /mariadb/i.test(text(row?.version)) || Number(text(row?.mariadb)) === 1 ? MARIADB : MYSQL;
}
