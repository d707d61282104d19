import { chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { randomPassword, randomSuffix } from '../credentials.js';
import {
  freePort,
  isRoot,
  run,
  type ServerRequirements,
  type ServerTls,
  type TestServer,
} from './support.js';

/** PostgreSQL 15 server binaries (override with `PG_BIN`). */
export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** What {@link startPostgres} needs: pass it to `serverSupport`. */
export const POSTGRES: ServerRequirements = {
  name: 'postgres',
  binaries: [`${PG_BIN}/initdb`, `${PG_BIN}/pg_ctl`, `${PG_BIN}/postgres`],
  install: 'postgresql-15',
};

/** A PostgreSQL 15 instance of our own, with password (SCRAM) authentication only. */
export interface PostgresServer extends TestServer {
  /** The bootstrap superuser, with a random name and password. */
  readonly admin: { readonly username: string; readonly password: string };
  /** The server log (`log_statement=all`, `log_connections=on`). */
  readonly logFile: string;
  readLog(): Promise<string>;
  /** Runs SQL as the admin on `database` (default `postgres`). */
  query<Row = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
    database?: string,
  ): Promise<Row[]>;
  /** Whether `username`/`password` can log in (TLS off unless given). */
  canLogin(
    username: string,
    password: string,
    options?: { database?: string; ssl?: pg.ClientConfig['ssl'] },
  ): Promise<boolean>;
}

let uidCache: { uid: number; gid: number } | undefined;
async function postgresUser(): Promise<{ uid: number; gid: number }> {
  if (!uidCache) {
    const uid = Number((await run('id', ['-u', 'postgres'])).trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).trim());
    uidCache = { uid, gid };
  }
  return uidCache;
}

/** PostgreSQL refuses to run as root: run its tools as the postgres user then. */
async function asPostgres(command: string, args: string[]): Promise<string> {
  return isRoot() ? run('runuser', ['-u', 'postgres', '--', command, ...args]) : run(command, args);
}

/**
 * Starts a private PostgreSQL 15 on a free loopback port in a temporary directory:
 * `initdb` with SCRAM for local and host logins (nothing trusts), `password_encryption`
 * scram-sha-256, every statement and connection logged to a file the test can read. Pass
 * `tls` to serve TLS (`ssl=on`) with that certificate.
 */
export async function startPostgres(options: { tls?: ServerTls } = {}): Promise<PostgresServer> {
  const dir = await mkdtemp(join(tmpdir(), 'rotator-pg-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  const admin = { username: `admin_${randomSuffix()}`, password: randomPassword(32) };
  const pwFile = join(dir, 'pw');
  await writeFile(pwFile, admin.password, { mode: 0o600 });
  if (isRoot()) {
    const { uid, gid } = await postgresUser();
    await chown(dir, uid, gid);
    await chown(pwFile, uid, gid);
  }
  await asPostgres(`${PG_BIN}/initdb`, [
    '-D',
    data,
    '-U',
    admin.username,
    `--pwfile=${pwFile}`,
    '--auth-local=scram-sha-256',
    '--auth-host=scram-sha-256',
    '-E',
    'UTF8',
    '--no-instructions',
  ]);
  await rm(pwFile);
  const port = await freePort();
  const conf = [
    "listen_addresses = '127.0.0.1'",
    `port = ${port}`,
    `unix_socket_directories = '${dir}'`,
    "password_encryption = 'scram-sha-256'",
    "log_statement = 'all'",
    'log_connections = on',
    'logging_collector = off',
    'fsync = off',
    'max_connections = 50',
  ];
  if (options.tls) {
    await writeFile(join(data, 'server.crt'), options.tls.cert);
    await writeFile(join(data, 'server.key'), options.tls.key, { mode: 0o600 });
    if (isRoot()) {
      const { uid, gid } = await postgresUser();
      await chown(join(data, 'server.crt'), uid, gid);
      await chown(join(data, 'server.key'), uid, gid);
    }
    conf.push('ssl = on', "ssl_cert_file = 'server.crt'", "ssl_key_file = 'server.key'");
  }
  const confPath = join(data, 'postgresql.conf');
  await writeFile(confPath, `${await readFile(confPath, 'utf8')}\n${conf.join('\n')}\n`);
  await asPostgres(`${PG_BIN}/pg_ctl`, ['-D', data, '-l', logFile, '-w', '-t', '60', 'start']);
  await chmod(logFile, 0o644).catch(() => {});

  const host = '127.0.0.1';
  const connect = async (
    user: string,
    password: string,
    database = 'postgres',
    ssl: pg.ClientConfig['ssl'] = false,
  ) => {
    const client = new pg.Client({
      host,
      port,
      user,
      password,
      database,
      ssl,
      connectionTimeoutMillis: 5_000,
    });
    client.on('error', () => {});
    await client.connect();
    return client;
  };
  return {
    host,
    port,
    admin,
    logFile,
    readLog: () => readFile(logFile, 'utf8'),
    async query<Row>(sql: string, params?: unknown[], database?: string): Promise<Row[]> {
      const client = await connect(admin.username, admin.password, database);
      try {
        return (await client.query(sql, params)).rows as Row[];
      } finally {
        await client.end();
      }
    },
    async canLogin(username, password, loginOptions = {}) {
      try {
        const client = await connect(
          username,
          password,
          loginOptions.database,
          loginOptions.ssl ?? false,
        );
        await client.query('SELECT 1');
        await client.end();
        return true;
      } catch (error) {
        if (['28P01', '28000'].includes((error as { code?: string }).code ?? '')) return false;
        throw error;
      }
    },
    async stop() {
      await asPostgres(`${PG_BIN}/pg_ctl`, ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(
        () => {},
      );
      await rm(dir, { recursive: true, force: true });
    },
  };
}
