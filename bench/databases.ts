/**
 * The real database servers the bench modules rotate against (the test starters in
 * test/helpers/servers/), each with an application-user seeder. A server whose binaries are
 * missing is left out (the bench says so).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DialectSet } from '../shared/strategies/database/dialect.js';
import type { Connector } from '../shared/strategies/database/driver.js';
import { connectMysql } from '../shared/strategies/mysql/connect.js';
import { mysqlDialects } from '../shared/strategies/mysql/MysqlDialect.js';
import { mysqlNativePasswordHash } from '../shared/strategies/mysql/nativePassword.js';
import { connectPostgres } from '../shared/strategies/postgres/connect.js';
import { postgresDialects } from '../shared/strategies/postgres/PostgresDialect.js';
import { scramSha256Verifier } from '../shared/strategies/postgres/scram.js';
import { MARIADB, startMariadb } from '../test/helpers/servers/mariadb.js';
import { POSTGRES, startPostgres } from '../test/helpers/servers/postgres.js';
import { serverSupport } from '../test/helpers/servers/support.js';

/** One running server and what rotating against it takes. */
export interface BenchDatabase {
  /** `postgres` or `mariadb`. */
  readonly name: string;
  /** The function that rotates it (functions/<name>/). */
  readonly functionName: string;
  /** The admin secret's value (username and password only, as an RDS-managed one). */
  readonly adminSecret: string;
  readonly connect: Connector;
  dialects(connect: Connector): DialectSet;
  /** A new application user with a schema/table of its own; returns its secret. */
  seed(masterarn?: string): Promise<string>;
}

const suffix = () => randomBytes(4).toString('hex');
const password = () => randomBytes(18).toString('base64url');

/** The secret of a seeded user (plaintext: the test servers have no TLS). */
function secretOf(
  engine: string,
  server: { host: string; port: number },
  dbname: string,
  username: string,
  password: string,
  masterarn: string | undefined,
): string {
  return JSON.stringify({
    engine,
    host: server.host,
    port: server.port,
    username,
    password,
    dbname,
    ssl: false,
    ...(masterarn ? { masterarn } : {}),
  });
}

/** Starts every available server, runs `work` with them, stops them. */
export async function withBenchDatabases(
  work: (databases: BenchDatabase[]) => Promise<void>,
  note: (message: string) => void = () => {},
): Promise<void> {
  const stops: (() => Promise<void>)[] = [];
  const databases: BenchDatabase[] = [];
  try {
    const postgres = serverSupport(POSTGRES);
    if (postgres.available) {
      const server = await startPostgres();
      stops.push(() => server.stop());
      databases.push({
        name: 'postgres',
        functionName: 'postgres',
        adminSecret: JSON.stringify({
          username: server.admin.username,
          password: server.admin.password,
        }),
        connect: connectPostgres,
        dialects: (connect) => postgresDialects(connect),
        async seed(masterarn) {
          const username = `bench_${suffix()}`;
          const secret = password();
          const u = pg.escapeIdentifier(username);
          await server.query(
            `CREATE ROLE ${u} LOGIN PASSWORD ${pg.escapeLiteral(scramSha256Verifier(secret))}`,
          );
          await server.query(`CREATE SCHEMA ${u} AUTHORIZATION ${u}`);
          await server.query(`CREATE TABLE ${u}.t (id serial PRIMARY KEY, v text)`);
          await server.query(`ALTER TABLE ${u}.t OWNER TO ${u}`);
          await server.query(`ALTER ROLE ${u} SET search_path = ${u}, public`);
          return secretOf('postgres', server, 'postgres', username, secret, masterarn);
        },
      });
    } else note(postgres.reason);
    const mariadb = serverSupport(MARIADB);
    if (mariadb.available) {
      const server = await startMariadb();
      stops.push(() => server.stop());
      await server.query('CREATE DATABASE IF NOT EXISTS benchdb');
      await server.query('CREATE TABLE IF NOT EXISTS benchdb.t (id int)');
      databases.push({
        name: 'mariadb',
        functionName: 'mysql',
        adminSecret: JSON.stringify({
          username: server.admin.username,
          password: server.admin.password,
        }),
        connect: connectMysql,
        dialects: (connect) => mysqlDialects({}, connect),
        async seed(masterarn) {
          const username = `b_${suffix()}`;
          const secret = password();
          await server.query('CREATE USER ?@? IDENTIFIED BY PASSWORD ?', [
            username,
            '%',
            mysqlNativePasswordHash(secret),
          ]);
          await server.query('GRANT SELECT, INSERT ON benchdb.* TO ?@?', [username, '%']);
          return secretOf('mariadb', server, 'benchdb', username, secret, masterarn);
        },
      });
    } else note(mariadb.reason);
    await work(databases);
  } finally {
    for (const stop of stops) await stop().catch(() => {});
  }
}

/** The two modes of the database functions. */
export const MODES = ['single-user', 'alternating-users'] as const;
