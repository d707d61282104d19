import { describe, expect, it } from 'vitest';
import type { DatabaseSession } from '../../shared/strategies/database/driver.js';
import { MysqlDialect } from '../../shared/strategies/mysql/MysqlDialect.js';
import { mysqlNativePasswordHash } from '../../shared/strategies/mysql/nativePassword.js';
import { randomPassword } from '../helpers/credentials.js';

interface Call {
  sql: string;
  params: readonly unknown[] | undefined;
}

/** A session answering VERSION() and mysql.user look-ups, recording every statement. */
function fakeServer(
  version: string,
  accounts: Record<string, Record<string, string>>,
  /** What MariaDB's executable comment `/*M! + 1 *\/` adds to `0 AS mariadb`. */
  mariadb = 0,
) {
  const calls: Call[] = [];
  const session: DatabaseSession = {
    async query<Row>(sql: string, params?: readonly unknown[]): Promise<Row[]> {
      calls.push({ sql, params });
      if (sql.includes('mysql.user')) {
        // One read for every user named: `User IN (?)` with the list as the one parameter;
        // the server's version in the same read when the SQL asks for it first.
        const users = params?.[0] as string[];
        const rows = users.flatMap((user) =>
          Object.entries(accounts[user] ?? {}).map(([host, plugin]) => ({ user, host, plugin })),
        );
        if (!sql.startsWith('SELECT VERSION()')) return rows as Row[];
        return rows.map((row) => ({ version, mariadb, ...row })) as Row[];
      }
      if (sql.startsWith('SELECT VERSION()')) return [{ version }] as Row[];
      return [];
    },
    close: async () => {},
  };
  return { session, calls };
}

const dialect = new MysqlDialect({
  label: 'MySQL',
  maxUsernameLength: 16,
  connect: async () => Promise.reject(new Error('unused')),
});

describe('MysqlDialect password statements', () => {
  it('MariaDB: a user sets its own password as the native hash, never the plaintext', async () => {
    const { session, calls } = fakeServer('10.11.6-MariaDB', {});
    const password = randomPassword();
    const registered: string[] = [];
    await dialect.changeOwnPassword(session, {
      username: 'app',
      password,
      register: (v) => registered.push(v),
    });
    expect(calls.at(-1)).toEqual({
      sql: 'SET PASSWORD = ?',
      params: [mysqlNativePasswordHash(password)],
    });
    expect(registered).toEqual([mysqlNativePasswordHash(password)]);
  });

  it('MySQL 8: a user sets its own password with an escaped literal (the documented exception)', async () => {
    const { session, calls } = fakeServer('8.0.36', {});
    const password = randomPassword();
    await dialect.changeOwnPassword(session, { username: 'app', password, register: () => {} });
    expect(calls.at(-1)).toEqual({ sql: 'SET PASSWORD = ?', params: [password] });
  });

  it('MySQL 8 admin: native accounts get the hash, caching_sha2 accounts the escaped literal, per host', async () => {
    const { session, calls } = fakeServer('8.0.36', {
      app_clone: { '%': 'mysql_native_password', '10.0.%': 'caching_sha2_password' },
    });
    const password = randomPassword();
    await dialect.setUserPassword(session, { username: 'app_clone', password, register: () => {} });
    expect(calls.slice(-2)).toEqual([
      {
        sql: 'ALTER USER ?@? IDENTIFIED WITH mysql_native_password AS ?',
        params: ['app_clone', '%', mysqlNativePasswordHash(password)],
      },
      { sql: 'ALTER USER ?@? IDENTIFIED BY ?', params: ['app_clone', '10.0.%', password] },
    ]);
  });

  it('MariaDB admin: creates the missing accounts of the clone from the hash, at every host of the template', async () => {
    const { session, calls } = fakeServer('10.11.6-MariaDB', {
      app: { '%': 'mysql_native_password', '127.0.0.1': 'mysql_native_password' },
      app_clone: { '%': 'mysql_native_password' },
    });
    const password = randomPassword();
    expect(
      await dialect.ensureUser(session, 'app', {
        username: 'app_clone',
        password,
        register: () => {},
      }),
    ).toBe(true);
    const creates = calls.filter((c) => c.sql.startsWith('CREATE USER'));
    expect(creates).toEqual([
      {
        sql: 'CREATE USER ?@? IDENTIFIED BY PASSWORD ?',
        params: ['app_clone', '127.0.0.1', mysqlNativePasswordHash(password)],
      },
    ]);
    expect(calls.map((c) => JSON.stringify(c.params ?? [])).join('\n')).not.toContain(password);
  });

  it('refuses a template account whose plugin name is not a plain identifier', async () => {
    const { session } = fakeServer('8.0.36', { app: { '%': 'weird plugin' } });
    await expect(
      dialect.ensureUser(session, 'app', {
        username: 'app_clone',
        password: randomPassword(),
        register: () => {},
      }),
    ).rejects.toThrow(/unsupported authentication plugin/);
  });
});

describe('MysqlDialect account reads', () => {
  const pair = { current: 'app', pending: 'app_clone', base: 'app', clone: 'app_clone' };
  const reads = (calls: Call[]) => calls.filter((c) => c.sql.includes('mysql.user')).length;
  const change = () => ({ username: 'app_clone', password: randomPassword(), register: () => {} });

  it('ensureUser, the privilege read and setUserPassword share one read of mysql.user', async () => {
    const { session, calls } = fakeServer('10.11.6-MariaDB', {
      app: { '%': 'mysql_native_password' },
      app_clone: { '%': 'mysql_native_password' },
    });
    expect(await dialect.ensureUser(session, 'app', change())).toBe(false);
    await dialect.privileges(session, ['app', 'app_clone']);
    await dialect.setUserPassword(session, change());
    expect(reads(calls)).toBe(1);
    // The server's flavour came in that read: no statement of its own.
    expect(calls.filter((c) => c.sql.startsWith('SELECT VERSION()'))).toHaveLength(1);
    expect(calls[0]?.sql).toMatch(/^SELECT VERSION\(\) .* FROM mysql\.user WHERE User IN/);
    expect(calls.filter((c) => c.sql.startsWith('SET PASSWORD FOR'))).toHaveLength(1);
    expect(calls).toHaveLength(4);
  });

  it('with no account to read, the flavour is read on its own (the read has no row to carry it)', async () => {
    const { session, calls } = fakeServer('10.11.6-MariaDB', {});
    await expect(dialect.ensureUser(session, 'app', change())).rejects.toThrow(
      /none in mysql\.user/,
    );
    expect(calls.map((c) => c.sql.includes('mysql.user'))).toEqual([true, false]);
    expect(calls[1]?.sql).toMatch(/^SELECT VERSION\(\)/);
  });

  it('reads again after creating accounts and after a repair (they add accounts or change TLS)', async () => {
    const { session, calls } = fakeServer('10.11.6-MariaDB', {
      app: { '%': 'mysql_native_password', localhost: 'mysql_native_password' },
      app_clone: { '%': 'mysql_native_password' },
    });
    expect(await dialect.ensureUser(session, 'app', change())).toBe(true);
    await dialect.privileges(session, ['app', 'app_clone']);
    expect(reads(calls)).toBe(2);
    await dialect.repair(session, [{ key: 'ACCOUNT @h EXISTS', kind: 'account', host: 'h' }], pair);
    await dialect.privileges(session, ['app_clone']);
    expect(reads(calls)).toBe(3);
    // A session of its own reads for itself.
    const other = fakeServer('10.11.6-MariaDB', { app_clone: { '%': 'mysql_native_password' } });
    await dialect.setUserPassword(other.session, change());
    expect(reads(other.calls)).toBe(1);
  });

  it('a MariaDB whose version string looks like MySQL 8 is still taken for MariaDB in the shared read', async () => {
    const { session, calls } = fakeServer(
      '8.0.36',
      { app: { '%': 'mysql_native_password', h: 'mysql_native_password' } },
      1,
    );
    const password = randomPassword();
    await dialect.ensureUser(session, 'app', {
      username: 'app_clone',
      password,
      register: () => {},
    });
    expect(calls.filter((c) => c.sql.startsWith('CREATE USER')).map((c) => c.sql)).toEqual([
      'CREATE USER ?@? IDENTIFIED BY PASSWORD ?',
      'CREATE USER ?@? IDENTIFIED BY PASSWORD ?',
    ]);
  });
});
