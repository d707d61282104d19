import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CredentialKind } from '../../shared/kinds/CredentialKind.js';
import { ApiKeyStrategy } from '../../shared/strategies/apikey/ApiKeyStrategy.js';
import { AdminCredentialSource } from '../../shared/strategies/apikey/adminCredentials.js';
import { apiKeyKind } from '../../shared/strategies/apikey/kind.js';
import type { DialectSet } from '../../shared/strategies/database/dialect.js';
import type { Connector } from '../../shared/strategies/database/driver.js';
import { databaseStrategy } from '../../shared/strategies/database/mode.js';
import { connectMysql } from '../../shared/strategies/mysql/connect.js';
import { mysqlKind } from '../../shared/strategies/mysql/kind.js';
import { mysqlDialects } from '../../shared/strategies/mysql/MysqlDialect.js';
import { mysqlNativePasswordHash } from '../../shared/strategies/mysql/nativePassword.js';
import { connectPostgres } from '../../shared/strategies/postgres/connect.js';
import { postgresKind } from '../../shared/strategies/postgres/kind.js';
import { postgresDialects } from '../../shared/strategies/postgres/PostgresDialect.js';
import { scramSha256Verifier } from '../../shared/strategies/postgres/scram.js';
import {
  type ApiKeyProviderServer,
  startApiKeyProviderServer,
} from '../helpers/apiKeyProviderServer.js';
import { captureLogs } from '../helpers/captureLogs.js';
import {
  type CrashKind,
  CrashMatrixReport,
  type CrashSubject,
  FAULT_MODES,
  type FunctionProcess,
  handlerRunner,
  type RecordedCall,
  recordRotation,
  rotateCleanly,
  runCrashCase,
  type SecretTarget,
} from '../helpers/crashMatrix.js';
import { randomPassword, randomSuffix } from '../helpers/credentials.js';
import { InMemorySecretsManager } from '../helpers/inMemorySecretsManager.js';
import { STEPS } from '../helpers/rotationRig.js';
import { MARIADB, type MariadbServer, startMariadb } from '../helpers/servers/mariadb.js';
import { POSTGRES, type PostgresServer, startPostgres } from '../helpers/servers/postgres.js';
import { serverSupport } from '../helpers/servers/support.js';

/**
 * Issue 12, point 3. For every step and every external call inside it (each Secrets Manager
 * command, each database connect and statement, each provider HTTP request), a fresh
 * rotation in which that call fails (`throw`) or takes effect and then the process is killed
 * (`kill-after`); the failed step is retried in a new process, as Secrets Manager retries
 * it, then the rotation continues. Every case must converge (AWSCURRENT on the token) with
 * every labelled credential logging in as its kind promises, and no account may be left
 * with a password that no labelled value holds. The calls are found by recording a clean
 * rotation first, so a new statement in a strategy joins the matrix by itself.
 */

const { escapeIdentifier: ident, escapeLiteral: literal } = pg;
// Swallows the engine's log lines (thousands, one rotation per case).
captureLogs();
const report = new CrashMatrixReport();

afterAll(() => {
  console.log(report.render());
});

const loginOf = (secretString: string) =>
  JSON.parse(secretString) as { username: string; password: string; dbname?: string };

/** A database kind with its dialects' connector wrapped by the invocation's process. */
function withConnector(
  kind: CredentialKind,
  dialects: (connect: Connector, env: NodeJS.ProcessEnv) => DialectSet,
  connect: Connector,
  process: FunctionProcess,
): CredentialKind {
  return {
    ...kind,
    createStrategy: (context) =>
      databaseStrategy(dialects(process.connector(connect), context.env), context),
  };
}

/**
 * The matrix of one kind and mode: the calls of a clean rotation are recorded once (inside
 * the first test, so its log lines are captured), then one test per step runs every case
 * of that step and lists each broken one.
 */
function describeMatrix(kind: CrashKind): void {
  describe(kind.name, () => {
    let recorded: Promise<RecordedCall[]> | undefined;
    const calls = () => {
      recorded ??= recordRotation(kind).then((found) => {
        report.calls(
          kind.name,
          found.filter((call) => (kind.steps ?? STEPS).includes(call.step)),
        );
        return found;
      });
      return recorded;
    };
    it.each(kind.steps ?? STEPS)(
      '%s: each external call failing or killed after it took effect, then the step retried, converges without losing a credential',
      async (step) => {
        const failures: string[] = [];
        const ofStep = (await calls()).filter((call) => call.step === step);
        expect(ofStep.length).toBeGreaterThan(0);
        for (const call of ofStep) {
          for (const mode of FAULT_MODES) {
            const fault = { step, index: call.index, mode };
            const result = await runCrashCase(kind, fault);
            report.outcome(kind.name, fault, result);
            for (const problem of result.problems) {
              failures.push(`${step} #${call.index} ${call.label} [${mode}]: ${problem}`);
            }
          }
        }
        expect(failures).toEqual([]);
      },
      300_000,
    );
  });
}

const pgSupport = serverSupport(POSTGRES);

describe.skipIf(!pgSupport.available)(`crash matrix: PostgreSQL ${pgSupport.reason}`, () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgres();
    // As hardened deployments do: only the users granted it may connect to the app database.
    await server.query('CREATE DATABASE appdb');
    await server.query('REVOKE CONNECT, TEMPORARY ON DATABASE appdb FROM PUBLIC');
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** A login counts when it reaches its database: a user without CONNECT (42501) does not. */
  const logins = async (secretString: string) => {
    const { username, password, dbname } = loginOf(secretString);
    const works = await server
      .canLogin(username, password, { database: dbname })
      .catch((error: { code?: string }) => {
        if (error.code === '42501') return false;
        throw error;
      });
    return new Map([[username, works]]);
  };
  const kindFor = (process: FunctionProcess) =>
    withConnector(postgresKind, (connect) => postgresDialects(connect), connectPostgres, process);

  const SINGLE = { ROTATION_MODE: 'single-user' };
  describeMatrix({
    name: 'PostgreSQL single-user',
    overlap: false,
    async prepare() {
      const tag = randomSuffix();
      const username = `cm_${tag}`;
      const password = randomPassword();
      await server.query(
        `CREATE ROLE ${ident(username)} LOGIN PASSWORD ${literal(scramSha256Verifier(password))}`,
      );
      const sm = new InMemorySecretsManager();
      sm.seedCurrent(
        JSON.stringify({
          engine: 'postgres',
          host: server.host,
          port: server.port,
          username,
          password,
          dbname: 'postgres',
          ssl: 'false',
        }),
      );
      return {
        sm,
        names: { [tag]: '<t>' },
        logins,
        start: (process) => handlerRunner(kindFor(process), process, [{ sm, label: '' }], SINGLE),
      };
    },
  });

  const ALTERNATING = { ROTATION_MODE: 'alternating-users' };
  /**
   * An application user as the alternating-users tests seed it (a group role, a schema and
   * a table it owns, a grant on someone else's table, a search_path, default privileges),
   * so grant parity has something to repair under crashes too, in a database only granted
   * users may connect to.
   */
  async function alternatingSubject(rotations: number): Promise<CrashSubject> {
    const tag = randomSuffix();
    const username = `cm_${tag}`;
    const password = randomPassword();
    const u = ident(username);
    const schema = ident(`s_${tag}`);
    await server.query(
      [
        `CREATE ROLE ${ident(`readers_${tag}`)} NOLOGIN`,
        `CREATE ROLE ${u} LOGIN PASSWORD ${literal(scramSha256Verifier(password))}`,
        `GRANT CONNECT ON DATABASE appdb TO ${u}`,
        `GRANT ${ident(`readers_${tag}`)} TO ${u}`,
        `CREATE SCHEMA ${schema} AUTHORIZATION ${u}`,
        `CREATE TABLE ${schema}.owned (id serial PRIMARY KEY, v text)`,
        `ALTER TABLE ${schema}.owned OWNER TO ${u}`,
        `CREATE TABLE public.${ident(`shared_${tag}`)} (id int)`,
        `GRANT SELECT, INSERT ON public.${ident(`shared_${tag}`)} TO ${u}`,
        `ALTER ROLE ${u} SET search_path = ${schema}, public`,
        `ALTER DEFAULT PRIVILEGES FOR ROLE ${u} IN SCHEMA ${schema} GRANT SELECT ON TABLES TO ${ident(`readers_${tag}`)}`,
      ].join(';\n'),
      [],
      'appdb',
    );
    const admin = new InMemorySecretsManager(`admin/${tag}`);
    admin.seedCurrent(
      JSON.stringify({ username: server.admin.username, password: server.admin.password }),
    );
    const sm = new InMemorySecretsManager();
    sm.seedCurrent(
      JSON.stringify({
        engine: 'postgres',
        host: server.host,
        port: server.port,
        username,
        password,
        dbname: 'appdb',
        masterarn: admin.arn,
        ssl: 'false',
      }),
    );
    const targets: SecretTarget[] = [
      { sm, label: '' },
      { sm: admin, label: 'admin secret' },
    ];
    const subject: CrashSubject = {
      sm,
      names: { [tag]: '<t>', [server.admin.username]: '<admin>' },
      logins,
      start: (process) => handlerRunner(kindFor(process), process, targets, ALTERNATING),
    };
    for (let i = 0; i < rotations; i++) await rotateCleanly(subject);
    return subject;
  }
  describeMatrix({
    name: 'PostgreSQL alternating-users, first rotation (creates the clone)',
    overlap: true,
    prepare: () => alternatingSubject(0),
  });
  describeMatrix({
    name: 'PostgreSQL alternating-users, next rotation (the clone exists; setSecret only)',
    overlap: true,
    // Only setSecret differs from the first rotation (the clone is altered, not created);
    // the other steps make the same calls, already cases of the first-rotation matrix.
    steps: ['setSecret'],
    prepare: () => alternatingSubject(1),
  });
});

const mariadbSupport = serverSupport(MARIADB);

describe.skipIf(!mariadbSupport.available)(`crash matrix: MariaDB ${mariadbSupport.reason}`, () => {
  let server: MariadbServer;
  beforeAll(async () => {
    server = await startMariadb();
    await server.query('CREATE DATABASE appdb');
    await server.query('CREATE TABLE appdb.t (id int)');
  });
  afterAll(async () => {
    await server?.stop();
  });

  /**
   * Per account of the user (`user@host`): the account a loopback login reaches (127.0.0.1
   * where the user has one, else '%') by logging in; the others, which no login from here
   * reaches, by whether they hold this password's hash.
   */
  const logins = async (secretString: string) => {
    const { username, password } = loginOf(secretString);
    const accounts = await server.query<{ host: string; hash: string }>(
      'SELECT Host AS host, authentication_string AS hash FROM mysql.user WHERE User = ?',
      [username],
    );
    const hosts = accounts.map((account) => account.host);
    const reached = hosts.includes('127.0.0.1') ? '127.0.0.1' : '%';
    const hash = mysqlNativePasswordHash(password);
    const out = new Map<string, boolean>();
    for (const { host, hash: stored } of accounts) {
      out.set(
        `${username}@${host}`,
        host === reached ? await server.canLogin(username, password) : stored === hash,
      );
    }
    return out;
  };
  const kindFor = (process: FunctionProcess) =>
    withConnector(mysqlKind, (connect, env) => mysqlDialects(env, connect), connectMysql, process);
  const secretFor = (username: string, password: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      engine: 'mariadb',
      host: server.host,
      port: server.port,
      username,
      password,
      dbname: 'appdb',
      ssl: false,
      ...extra,
    });

  const SINGLE = { ROTATION_MODE: 'single-user' };
  describeMatrix({
    name: 'MariaDB single-user',
    overlap: false,
    async prepare() {
      const tag = randomSuffix();
      const username = `cm_${tag}`;
      const password = randomPassword();
      await server.query("CREATE USER ?@'%' IDENTIFIED BY PASSWORD ?", [
        username,
        mysqlNativePasswordHash(password),
      ]);
      await server.query("GRANT SELECT ON appdb.* TO ?@'%'", [username]);
      const sm = new InMemorySecretsManager();
      sm.seedCurrent(secretFor(username, password));
      return {
        sm,
        names: { [tag]: '<t>' },
        logins,
        start: (process) => handlerRunner(kindFor(process), process, [{ sm, label: '' }], SINGLE),
      };
    },
  });

  const ALTERNATING = { ROTATION_MODE: 'alternating-users' };
  /**
   * An application user as the alternating-users tests seed it: accounts at two hosts,
   * database and table grants (one WITH GRANT OPTION), a role and a default role.
   */
  async function alternatingSubject(rotations: number): Promise<CrashSubject> {
    const tag = randomSuffix();
    const username = `cm_${tag}`;
    const password = randomPassword();
    const role = `r_${tag}`;
    const hash = mysqlNativePasswordHash(password);
    for (const host of ['%', '127.0.0.1']) {
      await server.query('CREATE USER ?@? IDENTIFIED BY PASSWORD ?', [username, host, hash]);
      await server.query('GRANT SELECT, INSERT ON appdb.* TO ?@?', [username, host]);
    }
    await server.query("GRANT UPDATE ON appdb.t TO ?@'%' WITH GRANT OPTION", [username]);
    await server.query('CREATE ROLE ?', [role]);
    await server.query('GRANT DELETE ON appdb.* TO ?', [role]);
    await server.query("GRANT ? TO ?@'%'", [role, username]);
    await server.query("SET DEFAULT ROLE ? FOR ?@'%'", [role, username]);
    const admin = new InMemorySecretsManager(`admin/${tag}`);
    admin.seedCurrent(
      JSON.stringify({ username: server.admin.username, password: server.admin.password }),
    );
    const sm = new InMemorySecretsManager();
    sm.seedCurrent(secretFor(username, password, { masterarn: admin.arn }));
    const targets: SecretTarget[] = [
      { sm, label: '' },
      { sm: admin, label: 'admin secret' },
    ];
    const subject: CrashSubject = {
      sm,
      names: { [tag]: '<t>', [server.admin.username]: '<admin>' },
      logins,
      start: (process) => handlerRunner(kindFor(process), process, targets, ALTERNATING),
    };
    for (let i = 0; i < rotations; i++) await rotateCleanly(subject);
    return subject;
  }
  describeMatrix({
    name: 'MariaDB alternating-users, first rotation (creates the clone)',
    overlap: true,
    prepare: () => alternatingSubject(0),
  });
  describeMatrix({
    name: 'MariaDB alternating-users, next rotation (the clone exists; setSecret only)',
    overlap: true,
    // Only setSecret differs from the first rotation (the clone is altered, not created);
    // the other steps make the same calls, already cases of the first-rotation matrix.
    steps: ['setSecret'],
    prepare: () => alternatingSubject(1),
  });
});

describe('crash matrix: API keys from an HTTP provider', () => {
  const servers: ApiKeyProviderServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  const providerServers = new WeakMap<CrashSubject, ApiKeyProviderServer>();
  const keyOf = (secretString: string) =>
    JSON.parse(secretString) as { apiKey: string; keyId: string };

  describeMatrix({
    name: 'API keys, provider-issued (overlap: 3 live keys)',
    overlap: true,
    async prepare() {
      // A provider per case: its key list is then exactly this secret's keys.
      const server = await startApiKeyProviderServer();
      servers.push(server);
      const admin = new InMemorySecretsManager(`admin/${randomSuffix()}`);
      admin.seedCurrent(JSON.stringify({ token: server.adminToken }));
      const first = server.seedKey('initial');
      const sm = new InMemorySecretsManager();
      sm.seedCurrent(
        JSON.stringify({
          apiKey: first.key,
          keyId: first.id,
          service: 'billing',
          provider: server.declaration(admin.arn),
        }),
      );
      const targets: SecretTarget[] = [
        { sm, label: '' },
        { sm: admin, label: 'admin secret' },
      ];
      const subject: CrashSubject = {
        sm,
        names: {},
        logins: async (s) => new Map([[keyOf(s).keyId, server.authenticates(keyOf(s).apiKey)]]),
        start: (process) =>
          handlerRunner(
            {
              ...apiKeyKind,
              createStrategy: (context) =>
                new ApiKeyStrategy({
                  env: context.env,
                  adminCredentials: new AdminCredentialSource({ reader: context.adminSecrets }),
                  fetch: process.fetch(),
                  verifyPollMs: 20,
                }),
            },
            process,
            targets,
            {},
          ),
      };
      providerServers.set(subject, server);
      // One clean rotation first, so finishSecret has a key two generations old to revoke.
      await rotateCleanly(subject);
      return subject;
    },
    async finalChecks(subject) {
      // Not a lost credential but a leak: every live key is one the secret labels.
      const server = providerServers.get(subject);
      const live = (server?.liveKeys() ?? []).map((k) => k.id).sort();
      const labelled = ['AWSCURRENT', 'AWSPREVIOUS']
        .map((stage) => subject.sm.valueOf(stage))
        .filter((v): v is string => v !== undefined)
        .map((v) => keyOf(v).keyId)
        .sort();
      return JSON.stringify(live) === JSON.stringify(labelled)
        ? []
        : [`live provider keys ${live.join(',')} differ from the labelled ${labelled.join(',')}`];
    },
  });
});
