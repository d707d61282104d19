/**
 * The zero-downtime load run shared by test/integration/zero-downtime.test.ts and
 * bench/zeroDowntime.ts: K clients query a real database in a loop while M rotations run
 * back to back through the local Secrets Manager twin and the real rotation function, once
 * with the consumer library and once without, and every failed login and query is counted.
 *
 * No vitest import here: the bench runs it outside the test runner.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  RotateSecretCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { RotatingMysqlPool } from '../../consumer/mysql.js';
import { RotatingPgPool } from '../../consumer/pg.js';
import type { ConsumerLogger } from '../../consumer/SecretCredentials.js';
import { startLocalSecretsManager } from '../../local/secrets-manager/index.js';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import type { CredentialKind } from '../../shared/kinds/CredentialKind.js';
import { mysqlKind } from '../../shared/strategies/mysql/kind.js';
import { mysqlNativePasswordHash } from '../../shared/strategies/mysql/nativePassword.js';
import { postgresKind } from '../../shared/strategies/postgres/kind.js';
import { scramSha256Verifier } from '../../shared/strategies/postgres/scram.js';
import { randomPassword, randomSuffix } from './credentials.js';
import type { MariadbServer } from './servers/mariadb.js';
import type { PostgresServer } from './servers/postgres.js';
import type { TestServer } from './servers/support.js';

/** The two rotation modes of the database functions. */
export type RotationMode = 'single-user' | 'alternating-users';

/** A plain driver connection, as an application without the library holds one. */
interface PlainConnection {
  query(sql: string): Promise<unknown>;
  close(): Promise<void>;
}

/** What the library's pools share, for the load loop. */
interface LibraryPool {
  query(sql: string): Promise<unknown>;
  readonly stats: { refusedLogins: number; secretReads: number; poolsBuilt: number };
  end(): Promise<void>;
}

/** One database engine under load: its server, kind, users and the two kinds of client. */
export interface EngineRig {
  /** `PostgreSQL`, `MariaDB`. */
  readonly label: string;
  readonly kind: CredentialKind;
  readonly admin: { readonly username: string; readonly password: string };
  /** Creates an application login (with no plaintext password in SQL text). */
  createUser(username: string, password: string): Promise<void>;
  /** The secret fields besides username, password and masterarn. */
  secretFields(): Record<string, unknown>;
  /** Opens a plain driver connection (no library). */
  connect(username: string, password: string): Promise<PlainConnection>;
  /** The driver error is a refused login. */
  isLoginRefused(error: unknown): boolean;
  /** The library's pool for `secretId`, at most `size` connections of `maxUses` uses each. */
  libraryPool(options: {
    secretId: string;
    client: SecretsManagerClient;
    size: number;
    maxUses: number;
    logger?: ConsumerLogger;
  }): LibraryPool;
}

/** The secret fields that say where the server is. */
function where(server: TestServer, dbname: string) {
  return { host: server.host, port: server.port, dbname, ssl: false };
}

/** A plain driver login, in the option names pg and mysql2 share. */
function plainLogin(server: TestServer, user: string, password: string, database: string) {
  return { host: server.host, port: server.port, user, password, database };
}

/** The {@link EngineRig} of a test PostgreSQL server. */
export function postgresRig(server: PostgresServer): EngineRig {
  const { escapeIdentifier: ident, escapeLiteral: literal } = pg;
  return {
    label: 'PostgreSQL',
    kind: postgresKind,
    admin: server.admin,
    async createUser(username, password) {
      await server.query(
        `CREATE ROLE ${ident(username)} LOGIN PASSWORD ${literal(scramSha256Verifier(password))}`,
      );
    },
    secretFields: () => ({ engine: 'postgres', ...where(server, 'postgres') }),
    async connect(username, password) {
      const client = new pg.Client({
        ...plainLogin(server, username, password, 'postgres'),
        ssl: false,
        connectionTimeoutMillis: 10_000,
      });
      client.on('error', () => {});
      await client.connect();
      return { query: (sql) => client.query(sql), close: () => client.end() };
    },
    isLoginRefused: (error) => ['28P01', '28000'].includes((error as { code?: string }).code ?? ''),
    libraryPool: ({ secretId, client, size, maxUses, logger }) =>
      new RotatingPgPool({
        secretId,
        client,
        pool: { max: size, maxUses, connectionTimeoutMillis: 10_000 },
        ...(logger ? { logger } : {}),
      }),
  };
}

/** The {@link EngineRig} of a test MariaDB server (its database `appdb` is created here). */
export async function mariadbRig(server: MariadbServer): Promise<EngineRig> {
  await server.query('CREATE DATABASE IF NOT EXISTS appdb');
  return {
    label: 'MariaDB',
    kind: mysqlKind,
    admin: server.admin,
    async createUser(username, password) {
      await server.query("CREATE USER ?@'%' IDENTIFIED BY PASSWORD ?", [
        username,
        mysqlNativePasswordHash(password),
      ]);
      await server.query("GRANT SELECT ON appdb.* TO ?@'%'", [username]);
    },
    secretFields: () => ({ engine: 'mariadb', ...where(server, 'appdb') }),
    async connect(username, password) {
      const connection = await mysql.createConnection({
        ...plainLogin(server, username, password, 'appdb'),
        connectTimeout: 10_000,
      });
      connection.on('error', () => {});
      return { query: (sql) => connection.query(sql), close: () => connection.end() };
    },
    isLoginRefused: (error) => (error as { errno?: number }).errno === 1045,
    libraryPool: ({ secretId, client, size, maxUses, logger }) =>
      new RotatingMysqlPool({
        secretId,
        client,
        maxUses,
        pool: { connectionLimit: size, connectTimeout: 10_000 },
        ...(logger ? { logger } : {}),
      }),
  };
}

/** Counts of one client population over a run. */
export interface ClientCounts {
  /** Queries that returned a result. */
  queries: number;
  /** Queries that could not run (refused login) or failed. */
  failedQueries: number;
  /** Logins the database refused. */
  refusedLogins: number;
  /** `GetSecretValue` calls the population made. */
  secretReads: number;
  /** Slowest successful query, ms, its login and the library's retries included. */
  maxQueryMs: number;
}

/** What {@link runZeroDowntime} measured. */
export interface ZeroDowntimeResult {
  engine: string;
  mode: RotationMode;
  clients: number;
  rotations: number;
  /** Rotation states from the twin; all `Succeeded` in a good run. */
  rotationStates: string[];
  durationMs: number;
  /** The consumer library: one pool of `clients / 2` connections shared by `clients` loops. */
  library: ClientCounts;
  /** Plain driver clients that read AWSCURRENT before every login. */
  baseline: ClientCounts;
  /** Every password the secret held during the run (for leak checks). */
  passwords: string[];
}

/** Runs `query`, counting it as done (with its time since `start`) or failed. */
async function counted(
  counts: Pick<ClientCounts, 'queries' | 'failedQueries' | 'maxQueryMs'>,
  start: number,
  query: () => Promise<unknown>,
): Promise<void> {
  try {
    await query();
    counts.queries += 1;
    counts.maxQueryMs = Math.max(counts.maxQueryMs, performance.now() - start);
  } catch {
    counts.failedQueries += 1;
  }
}

/** Options of {@link runZeroDowntime}. */
export interface ZeroDowntimeOptions {
  mode: RotationMode;
  /** K: concurrent clients per population. Default 16. */
  clients?: number;
  /** M: rotations, back to back. Default 10. */
  rotations?: number;
  /** Queries per connection before it is closed and a new login made. Default 10. */
  queriesPerConnection?: number;
  /** Pause between two queries of one client, ms. Default 5. */
  thinkMs?: number;
  /** Where the library logs (never values); default silent. */
  logger?: ConsumerLogger;
}

/**
 * Runs both client populations against one engine while `rotations` rotations of one
 * secret run back to back through the twin (`RotateSecret`, then waiting for the twin's
 * rotation record, then the next).
 *
 * - **Library**: `clients` loops share one library pool of `clients / 2` connections, each
 *   closed after `queriesPerConnection` uses (pg's `maxUses`, the library's for mysql2), so
 *   new logins keep happening throughout the run.
 * - **Baseline** (no library): `clients` loops, each with one plain driver connection
 *   closed after `queriesPerConnection` queries. Before every login it reads AWSCURRENT
 *   afresh (`GetSecretValue`, no cache: the best an application without the library can
 *   do; any cache only makes it worse). A refused login counts as a failed login and a
 *   failed query; the loop then goes on (and reads AWSCURRENT again for the next login).
 */
export async function runZeroDowntime(
  rig: EngineRig,
  options: ZeroDowntimeOptions,
): Promise<ZeroDowntimeResult> {
  const clients = options.clients ?? 16;
  const rotations = options.rotations ?? 10;
  const perConnection = options.queriesPerConnection ?? 10;
  const thinkMs = options.thinkMs ?? 5;
  const functionName = `rotator-${rig.kind.name}`;
  const twin = await startLocalSecretsManager({
    port: 0,
    registry: (endpoint) => {
      const env = {
        ROTATION_MODE: options.mode,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint.url,
      };
      const handler = rotationHandler(rig.kind, { client: endpoint.client, env });
      return new Map([[functionName, (event, context) => handler(event, context)]]);
    },
  });
  const client = twin.newClient();
  const suffix = randomBytes(4).toString('hex');
  const admin = await client.send(
    new CreateSecretCommand({
      Name: `zd-admin/${suffix}`,
      SecretString: JSON.stringify({ username: rig.admin.username, password: rig.admin.password }),
    }),
  );
  const username = `zd_${randomSuffix()}`;
  const password = randomPassword();
  await rig.createUser(username, password);
  const name = `zd/${suffix}`;
  await client.send(
    new CreateSecretCommand({
      Name: name,
      SecretString: JSON.stringify({
        ...rig.secretFields(),
        username,
        password,
        masterarn: admin.ARN,
      }),
    }),
  );
  const passwords = new Set([password]);
  const library = rig.libraryPool({
    secretId: name,
    client: twin.newClient(),
    // Fewer connections than loops: requests also wait in the pool, as in a busy service.
    size: Math.max(1, Math.floor(clients / 2)),
    maxUses: perConnection,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const baseline: ClientCounts = {
    queries: 0,
    failedQueries: 0,
    refusedLogins: 0,
    secretReads: 0,
    maxQueryMs: 0,
  };
  const libraryCounts = { queries: 0, failedQueries: 0, maxQueryMs: 0 };
  let running = true;
  const started = performance.now();

  const libraryLoop = async () => {
    while (running) {
      await counted(libraryCounts, performance.now(), () => library.query('SELECT 1'));
      await sleep(thinkMs);
    }
  };

  const baselineLoop = async () => {
    let connection: PlainConnection | undefined;
    let uses = 0;
    while (running) {
      const start = performance.now();
      if (connection === undefined) {
        try {
          baseline.secretReads += 1;
          const current = JSON.parse(
            (await client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString ?? '',
          ) as { username: string; password: string };
          connection = await rig.connect(current.username, current.password);
          uses = 0;
        } catch (error) {
          if (rig.isLoginRefused(error)) baseline.refusedLogins += 1;
          baseline.failedQueries += 1;
          await sleep(thinkMs);
          continue;
        }
      }
      const open = connection;
      await counted(baseline, start, () => open.query('SELECT 1'));
      uses += 1;
      if (uses >= perConnection) {
        await connection.close().catch(() => {});
        connection = undefined;
      }
      await sleep(thinkMs);
    }
    await connection?.close().catch(() => {});
  };

  const loops = [
    ...Array.from({ length: clients }, libraryLoop),
    ...Array.from({ length: clients }, baselineLoop),
  ];
  const rotationStates: string[] = [];
  try {
    const functionArn = `arn:aws:lambda:${twin.region}:${twin.accountId}:function:${functionName}`;
    // Let every client log in once before the first rotation.
    await sleep(100);
    for (let i = 0; i < rotations; i++) {
      await client.send(
        new RotateSecretCommand({
          SecretId: name,
          RotationLambdaARN: functionArn,
          RotationRules: { AutomaticallyAfterDays: 30 },
        }),
      );
      const record = await twin.rotations.waitFor(name);
      rotationStates.push(record?.state ?? 'unknown');
      for (const stage of ['AWSCURRENT', 'AWSPREVIOUS']) {
        const value = await client
          .send(new GetSecretValueCommand({ SecretId: name, VersionStage: stage }))
          .then((out) => (JSON.parse(out.SecretString ?? '{}') as { password?: string }).password)
          .catch(() => undefined);
        if (value) passwords.add(value);
      }
    }
    // A little more load after the last rotation: logins that follow it count too.
    await sleep(200);
  } finally {
    running = false;
    await Promise.allSettled(loops);
    await library.end();
    await twin.close();
  }
  return {
    engine: rig.label,
    mode: options.mode,
    clients,
    rotations,
    rotationStates,
    durationMs: performance.now() - started,
    library: {
      ...libraryCounts,
      refusedLogins: library.stats.refusedLogins,
      secretReads: library.stats.secretReads,
    },
    baseline,
    passwords: [...passwords],
  };
}
