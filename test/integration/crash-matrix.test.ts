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
import { createMariadbAppUser } from '../helpers/appUsers.js';
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
import { MARIADB, startMariadb } from '../helpers/servers/mariadb.js';
import { POSTGRES, startPostgres } from '../helpers/servers/postgres.js';
import {
  type ServerRequirements,
  serverSupport,
  type TestServer,
} from '../helpers/servers/support.js';

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

/** A database server and how the function under test reaches it. */
interface DatabaseTarget {
  readonly server: TestServer;
  readonly engine: string;
  readonly dbname: string;
  readonly ssl: boolean | string;
  readonly kind: (process: FunctionProcess) => CredentialKind;
  readonly logins: CrashSubject['logins'];
}

/**
 * The secret of user `cm_<tag>` (already created on the server with `password`), and for
 * alternating users an admin secret holding the server's admin, named by `masterarn`;
 * rotated `rotationsBefore` times cleanly first (1: the clone exists).
 */
async function databaseSubject(
  t: DatabaseTarget,
  user: { tag: string; password: string; alternating: boolean; rotationsBefore?: number },
): Promise<CrashSubject> {
  const sm = new InMemorySecretsManager();
  const targets: SecretTarget[] = [{ sm, label: '' }];
  const names: Record<string, string> = { [user.tag]: '<t>' };
  const fields: Record<string, unknown> = {
    engine: t.engine,
    host: t.server.host,
    port: t.server.port,
    username: `cm_${user.tag}`,
    password: user.password,
    dbname: t.dbname,
    ssl: t.ssl,
  };
  if (user.alternating) {
    const admin = new InMemorySecretsManager(`admin/${user.tag}`);
    admin.seedCurrent(JSON.stringify(t.server.admin));
    targets.push({ sm: admin, label: 'admin secret' });
    names[t.server.admin.username] = '<admin>';
    fields.masterarn = admin.arn;
  }
  sm.seedCurrent(JSON.stringify(fields));
  const env = { ROTATION_MODE: user.alternating ? 'alternating-users' : 'single-user' };
  const subject: CrashSubject = {
    sm,
    names,
    logins: t.logins,
    start: (process) => handlerRunner(t.kind(process), process, targets, env),
  };
  for (let i = 0; i < (user.rotationsBefore ?? 0); i++) await rotateCleanly(subject);
  return subject;
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

/**
 * Alternating users twice: the first rotation (creates the clone) in full, and setSecret of
 * the next one (the clone exists, so it is altered instead): the other steps of the next
 * rotation make the same calls as the first's, already cases there.
 */
function describeAlternatingMatrices(
  engine: string,
  subject: (rotationsBefore: number) => Promise<CrashSubject>,
): void {
  describeMatrix({
    name: `${engine} alternating-users, first rotation (creates the clone)`,
    overlap: true,
    prepare: () => subject(0),
  });
  describeMatrix({
    name: `${engine} alternating-users, next rotation (the clone exists; setSecret only)`,
    overlap: true,
    steps: ['setSecret'],
    prepare: () => subject(1),
  });
}

/**
 * A describe block whose cases share one server from `start` (then `setUp` run as its
 * admin), under `serverSupport`'s rule
 * (skipped with the reason outside CI when the binaries are missing, failed under CI=true).
 */
function describeOnServer<S extends TestServer & { query(sql: string): Promise<unknown> }>(
  requirements: ServerRequirements,
  start: () => Promise<S>,
  setUp: readonly string[],
  body: (server: () => S) => void,
): void {
  const support = serverSupport(requirements);
  const label = requirements.name;
  describe.skipIf(!support.available)(`crash matrix: ${label} ${support.reason}`, () => {
    let server: S | undefined;
    beforeAll(async () => {
      server = await start();
      for (const sql of setUp) await server.query(sql);
    });
    afterAll(async () => {
      await server?.stop();
    });
    body(() => {
      if (!server) throw new Error(`the ${label} server did not start`);
      return server;
    });
  });
}

describeOnServer(
  POSTGRES,
  startPostgres,
  // As hardened deployments do: only the users granted it may connect to the app database.
  ['CREATE DATABASE appdb', 'REVOKE CONNECT, TEMPORARY ON DATABASE appdb FROM PUBLIC'],
  (server) => {
    /** A login counts when it reaches its database: a user without CONNECT (42501) does not. */
    const logins = async (secretString: string) => {
      const { username, password, dbname } = loginOf(secretString);
      const works = await server()
        .canLogin(username, password, { database: dbname })
        .catch((error: { code?: string }) => {
          if (error.code === '42501') return false;
          throw error;
        });
      return new Map([[username, works]]);
    };
    const target = (): DatabaseTarget => ({
      server: server(),
      engine: 'postgres',
      dbname: 'appdb',
      ssl: 'false',
      kind: (process) =>
        withConnector(
          postgresKind,
          (connect) => postgresDialects(connect),
          connectPostgres,
          process,
        ),
      logins,
    });

    describeMatrix({
      name: 'PostgreSQL single-user',
      // One user, one password: setSecret replaces it, so after the rotation AWSPREVIOUS is
      // refused (the protocol promises no overlap here: ROTATION-PROTOCOL.md §5 #9, the kind
      // declares 'none'); the matrix asserts exactly that, and that no crash loses both.
      overlap: false,
      async prepare() {
        const tag = randomSuffix();
        const password = randomPassword();
        const u = ident(`cm_${tag}`);
        await server().query(
          `CREATE ROLE ${u} LOGIN PASSWORD ${literal(scramSha256Verifier(password))}; GRANT CONNECT ON DATABASE appdb TO ${u}`,
        );
        return databaseSubject(target(), { tag, password, alternating: false });
      },
    });

    /**
     * An application user as the alternating-users tests seed it (a group role, a schema and
     * a table it owns, a grant on someone else's table, a search_path, default privileges),
     * so grant parity has something to repair under crashes too, in a database only granted
     * users may connect to.
     */
    async function alternatingSubject(rotationsBefore: number): Promise<CrashSubject> {
      const tag = randomSuffix();
      const password = randomPassword();
      const u = ident(`cm_${tag}`);
      const schema = ident(`s_${tag}`);
      await server().query(
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
      return databaseSubject(target(), { tag, password, alternating: true, rotationsBefore });
    }
    describeAlternatingMatrices('PostgreSQL', alternatingSubject);
  },
);

describeOnServer(
  MARIADB,
  startMariadb,
  ['CREATE DATABASE appdb', 'CREATE TABLE appdb.t (id int)'],
  (server) => {
    /**
     * Per account of the user (`user@host`): the account a loopback login reaches (127.0.0.1
     * where the user has one, else '%') by logging in; the others, which no login from here
     * reaches, by whether they hold this password's hash.
     */
    const logins = async (secretString: string) => {
      const { username, password } = loginOf(secretString);
      const accounts = await server().query<{ host: string; hash: string }>(
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
          host === reached ? await server().canLogin(username, password) : stored === hash,
        );
      }
      return out;
    };
    const target = (): DatabaseTarget => ({
      server: server(),
      engine: 'mariadb',
      dbname: 'appdb',
      ssl: false,
      kind: (process) =>
        withConnector(
          mysqlKind,
          (connect, env) => mysqlDialects(env, connect),
          connectMysql,
          process,
        ),
      logins,
    });

    describeMatrix({
      name: 'MariaDB single-user',
      // One user, one password: setSecret replaces it, so after the rotation AWSPREVIOUS is
      // refused (the protocol promises no overlap here: ROTATION-PROTOCOL.md §5 #9, the kind
      // declares 'none'); the matrix asserts exactly that, and that no crash loses both.
      overlap: false,
      async prepare() {
        const tag = randomSuffix();
        const password = randomPassword();
        await server().query("CREATE USER ?@'%' IDENTIFIED BY PASSWORD ?", [
          `cm_${tag}`,
          mysqlNativePasswordHash(password),
        ]);
        await server().query("GRANT SELECT ON appdb.* TO ?@'%'", [`cm_${tag}`]);
        return databaseSubject(target(), { tag, password, alternating: false });
      },
    });

    /** An application user as the alternating-users tests seed it (see createMariadbAppUser). */
    async function alternatingSubject(rotationsBefore: number): Promise<CrashSubject> {
      const tag = randomSuffix();
      const password = randomPassword();
      await createMariadbAppUser(server(), `cm_${tag}`, password, `r_${tag}`);
      return databaseSubject(target(), { tag, password, alternating: true, rotationsBefore });
    }
    describeAlternatingMatrices('MariaDB', alternatingSubject);
  },
);

describe('crash matrix: API keys from an HTTP provider', () => {
  const servers: ApiKeyProviderServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  const providerServers = new WeakMap<CrashSubject, ApiKeyProviderServer>();
  const keyOf = (secretString: string) =>
    JSON.parse(secretString) as { apiKey: string; keyId: string };

  /**
   * Provider-issued keys with room for `maxLiveKeys`: 3 (overlap: finishSecret revokes the
   * key two generations old) or 2 (two-slot: createSecret revokes the AWSPREVIOUS key to free
   * its slot before minting).
   */
  const describeProviderMatrix = (maxLiveKeys: 2 | 3) =>
    describeMatrix({
      name: `API keys, provider-issued (${maxLiveKeys === 3 ? 'overlap' : 'two-slot'}: ${maxLiveKeys} live keys)`,
      overlap: true,
      ...(maxLiveKeys === 2 ? { previousRetiredFrom: 'createSecret' as const } : {}),
      async prepare() {
        // A provider per case: its key list is then exactly this secret's keys.
        const server = await startApiKeyProviderServer({ maxLiveKeys });
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
        // One clean rotation first, so there is a key two generations old to revoke.
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
  describeProviderMatrix(3);
  describeProviderMatrix(2);
});
