import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { randomPassword, randomSuffix } from '../credentials.js';
import {
  freePort,
  isRoot,
  run,
  type ServerRequirements,
  type ServerTls,
  type TestServer,
  waitFor,
} from './support.js';

/** MariaDB server binaries. */
export const MARIADB_BINARIES = {
  installDb: '/usr/bin/mariadb-install-db',
  server: '/usr/sbin/mariadbd',
  client: '/usr/bin/mariadb',
  admin: '/usr/bin/mariadb-admin',
};

/** What {@link startMariadb} needs: pass it to `serverSupport`. */
export const MARIADB: ServerRequirements = {
  name: 'mariadb',
  binaries: Object.values(MARIADB_BINARIES),
  install: 'mariadb-server mariadb-client',
};

/** A MariaDB instance of our own: grant tables on, an admin with a random password. */
export interface MariadbServer extends TestServer {
  /** `admin_…'@'%'` with ALL PRIVILEGES WITH GRANT OPTION and a random password. */
  readonly admin: { readonly username: string; readonly password: string };
  /** The general query log (every statement the server received). */
  readonly generalLogFile: string;
  readGeneralLog(): Promise<string>;
  /** Runs SQL as the admin (client-side `?` escaping). */
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Whether `username`/`password` can log in over TCP (plaintext unless `ssl` given). */
  canLogin(username: string, password: string, ssl?: mysql.SslOptions): Promise<boolean>;
}

/**
 * Starts a private MariaDB on a free loopback port in a temporary directory
 * (`mariadb-install-db`, then `mariadbd` with its own datadir, socket and port, grant
 * tables enforced, general log on). root authenticates only through the socket (we are
 * root); the tests use a separate admin with a random password over TCP.
 */
export async function startMariadb(
  options: {
    tls?: ServerTls;
    /** Extra `mariadbd` options, e.g. `--version=…`. */
    serverArgs?: string[];
  } = {},
): Promise<MariadbServer> {
  const dir = await mkdtemp(join(tmpdir(), 'rotator-mariadb-'));
  const data = join(dir, 'data');
  const socket = join(dir, 'mysqld.sock');
  const generalLogFile = join(dir, 'general.log');
  const userArgs = isRoot() ? ['--user=mysql'] : [];
  if (isRoot()) {
    const uid = Number((await run('id', ['-u', 'mysql'])).trim());
    const gid = Number((await run('id', ['-g', 'mysql'])).trim());
    await chown(dir, uid, gid);
  }
  await run(MARIADB_BINARIES.installDb, [
    '--no-defaults',
    `--datadir=${data}`,
    ...userArgs,
    '--auth-root-authentication-method=socket',
    '--skip-test-db',
    '--skip-name-resolve',
  ]);
  const port = await freePort();
  const tlsArgs: string[] = [];
  if (options.tls) {
    await writeFile(join(dir, 'server.crt'), options.tls.cert, { mode: 0o644 });
    await writeFile(join(dir, 'server.key'), options.tls.key, { mode: 0o644 });
    tlsArgs.push(`--ssl-cert=${join(dir, 'server.crt')}`, `--ssl-key=${join(dir, 'server.key')}`);
  }
  const server: ChildProcess = spawn(
    MARIADB_BINARIES.server,
    [
      '--no-defaults',
      `--datadir=${data}`,
      `--socket=${socket}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      ...userArgs,
      `--pid-file=${join(dir, 'mysqld.pid')}`,
      `--log-error=${join(dir, 'error.log')}`,
      '--skip-name-resolve',
      '--general-log=1',
      `--general-log-file=${generalLogFile}`,
      '--innodb-buffer-pool-size=32M',
      '--skip-log-bin',
      ...tlsArgs,
      ...(options.serverArgs ?? []),
    ],
    { stdio: 'ignore' },
  );
  let exited = false;
  server.on('exit', () => {
    exited = true;
  });
  const rootSql = (sql: string) =>
    run(
      MARIADB_BINARIES.client,
      ['--no-defaults', `--socket=${socket}`, '-u', 'root', '--batch'],
      sql,
    );
  await waitFor('mariadbd to accept connections', async () => {
    if (exited) throw new Error(`mariadbd exited; see ${join(dir, 'error.log')}`);
    await run(MARIADB_BINARIES.admin, [
      '--no-defaults',
      `--socket=${socket}`,
      '-u',
      'root',
      'ping',
    ]);
    return true;
  });
  const admin = { username: `admin_${randomSuffix()}`, password: randomPassword(32) };
  // Through stdin, not argv: the password must not show in the process list.
  await rootSql(
    `CREATE USER '${admin.username}'@'%' IDENTIFIED BY '${admin.password}';\nGRANT ALL PRIVILEGES ON *.* TO '${admin.username}'@'%' WITH GRANT OPTION;\n`,
  );
  await chmod(generalLogFile, 0o644).catch(() => {});
  const host = '127.0.0.1';
  const connect = (user: string, password: string, ssl?: mysql.SslOptions) =>
    mysql.createConnection({
      host,
      port,
      user,
      password,
      connectTimeout: 5_000,
      ...(ssl ? { ssl } : {}),
    });
  return {
    host,
    port,
    admin,
    generalLogFile,
    readGeneralLog: () => readFile(generalLogFile, 'utf8'),
    async query<Row>(sql: string, params?: unknown[]): Promise<Row[]> {
      const conn = await connect(admin.username, admin.password);
      try {
        const [rows] = await conn.query(sql, params);
        return (Array.isArray(rows) ? rows : []) as Row[];
      } finally {
        await conn.end();
      }
    },
    async canLogin(username, password, ssl) {
      try {
        const conn = await connect(username, password, ssl);
        await conn.query('SELECT 1');
        await conn.end();
        return true;
      } catch (error) {
        if ((error as { errno?: number }).errno === 1045) return false;
        throw error;
      }
    },
    async stop() {
      if (!exited) {
        const done = new Promise((resolve) => server.once('exit', resolve));
        server.kill('SIGTERM');
        await Promise.race([done, new Promise((r) => setTimeout(r, 15_000))]);
        if (!exited) server.kill('SIGKILL');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
