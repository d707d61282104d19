import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RotationStep } from '../../shared/engine/types.js';
import type { CredentialKind } from '../../shared/kinds/CredentialKind.js';
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
import { createMariadbAppUser } from '../helpers/appUsers.js';
import { captureLogs } from '../helpers/captureLogs.js';
import {
  FAULT_MODES,
  type FaultMode,
  FunctionProcess,
  handlerRunner,
  type SecretTarget,
} from '../helpers/crashMatrix.js';
import { randomPassword, randomSuffix } from '../helpers/credentials.js';
import { InMemorySecretsManager } from '../helpers/inMemorySecretsManager.js';
import { STEPS } from '../helpers/rotationRig.js';
import { MARIADB, type MariadbServer, startMariadb } from '../helpers/servers/mariadb.js';
import { POSTGRES, type PostgresServer, startPostgres } from '../helpers/servers/postgres.js';
import { serverSupport } from '../helpers/servers/support.js';

/**
 * Issue 12, point 3, for warm functions. The crash matrix (crash-matrix.test.ts) runs every
 * invocation in a new process, so a kept admin session is never reused there. This is the warm variant: one process runs two clean rotations (the second
 * keeps the admin's session), then the third rotation's setSecret, which reuses it, fails at
 * each of its calls (throw, or kill-after: the process and all its sessions die). The step
 * is retried (in the same process if it survived, as a warm container would be reused),
 * then the rotation finishes.
 */

const { escapeIdentifier: ident, escapeLiteral: literal } = pg;
captureLogs();
const ENV = { ROTATION_MODE: 'alternating-users' };

interface Subject {
  sm: InMemorySecretsManager;
  targets: SecretTarget[];
  names: Record<string, string>;
  kind: (process: FunctionProcess) => CredentialKind;
  logins: (secretString: string) => Promise<Map<string, boolean>>;
}

/**
 * The rotated secret (user `cm_<tag>` on `server`, `fields` added) and its admin secret, each
 * in its own in-memory Secrets Manager: what every subject shares but its engine's parts.
 */
function secretPair(
  tag: string,
  server: { host: string; port: number; admin: { username: string; password: string } },
  fields: Record<string, unknown>,
): Pick<Subject, 'sm' | 'targets' | 'names'> {
  const sm = new InMemorySecretsManager();
  const admin = new InMemorySecretsManager(`admin/${tag}`);
  admin.seedCurrent(JSON.stringify(server.admin));
  sm.seedCurrent(
    JSON.stringify({
      host: server.host,
      port: server.port,
      username: `cm_${tag}`,
      dbname: 'appdb',
      masterarn: admin.arn,
      ...fields,
    }),
  );
  return {
    sm,
    targets: [
      { sm, label: '' },
      { sm: admin, label: 'admin secret' },
    ],
    names: { [tag]: '<t>', [server.admin.username]: '<admin>' },
  };
}

function withConnector(
  kind: CredentialKind,
  dialects: (connect: Connector) => DialectSet,
  connect: Connector,
  process: FunctionProcess,
): CredentialKind {
  return {
    ...kind,
    createStrategy: (context) => databaseStrategy(dialects(process.connector(connect)), context),
  };
}

async function runWarm(subject: Subject, fault?: { index: number; mode: FaultMode }) {
  const process = new FunctionProcess({
    names: subject.names,
    rotated: subject.sm,
    ...(fault ? { fault } : {}),
  });
  const run = handlerRunner(subject.kind(process), process, subject.targets, ENV);
  for (let i = 0; i < 2; i++) {
    const token = subject.sm.startRotation();
    for (const step of STEPS) await run(step, token);
  }
  const token = subject.sm.startRotation();
  await run('createSecret', token);
  const start = process.calls.length;
  const began = performance.now();
  const error = await run('setSecret', token).then(
    () => undefined,
    (e: unknown) => e,
  );
  const ms = performance.now() - began;
  return { process, run, token, start, error, ms };
}

const logsIn = (m: Map<string, boolean> | undefined) =>
  m !== undefined && m.size > 0 && [...m.values()].every(Boolean);

async function checks(subject: Subject, token: string, after: 'fault' | 'end'): Promise<string[]> {
  const problems: string[] = [];
  const stages: Array<[string, string | undefined]> = [
    ['AWSCURRENT', subject.sm.valueOf('AWSCURRENT')],
    ['AWSPREVIOUS', subject.sm.valueOf('AWSPREVIOUS')],
    [
      'AWSPENDING',
      subject.sm.versions.get(token)?.stages.has('AWSPENDING')
        ? subject.sm.versions.get(token)?.value
        : undefined,
    ],
  ];
  const by = new Map<string, Map<string, boolean>>();
  for (const [stage, value] of stages) if (value) by.set(stage, await subject.logins(value));
  if (!logsIn(by.get('AWSCURRENT'))) problems.push(`${after}: AWSCURRENT does not log in`);
  if (after === 'end') {
    if (subject.sm.versionWith('AWSCURRENT') !== token) problems.push('did not converge');
    if (!logsIn(by.get('AWSPREVIOUS'))) problems.push('end: AWSPREVIOUS does not log in');
    if (by.has('AWSPENDING') && !logsIn(by.get('AWSPENDING')))
      problems.push('end: AWSPENDING does not log in');
  } else {
    const holders = new Map<string, boolean>();
    for (const logins of by.values())
      for (const [account, works] of logins)
        holders.set(account, (holders.get(account) ?? false) || works);
    for (const [account, works] of holders)
      if (!works) problems.push(`fault: credential LOST for ${account}`);
  }
  return problems;
}

async function warmMatrix(name: string, prepare: () => Promise<Subject>): Promise<string[]> {
  const clean = await runWarm(await prepare());
  expect(clean.error).toBeUndefined();
  const calls = clean.process.calls.slice(clean.start);
  // The warm setSecret really reused the kept admin session: it made no admin connect.
  expect(calls.filter((label) => label.startsWith('connect as <admin>'))).toEqual([]);
  const failures: string[] = [];
  console.log(
    `Warm crash matrix, ${name}: setSecret on a kept admin session, ${calls.length} calls; ${calls.length * FAULT_MODES.length} cases (${FAULT_MODES.join(', ')})\n  ${calls.join('\n  ')}`,
  );
  for (const [offset, label] of calls.entries()) {
    for (const mode of FAULT_MODES) {
      const subject = await prepare();
      const where = `setSecret #${offset} ${label} [${mode}]`;
      const result = await runWarm(subject, { index: clean.start + offset, mode });
      if (result.ms > 10_000) failures.push(`${where}: took ${Math.round(result.ms)} ms`);
      for (const p of await checks(subject, result.token, 'fault')) failures.push(`${where}: ${p}`);
      let run = result.run;
      const steps: RotationStep[] = ['testSecret', 'finishSecret'];
      if (result.process.killed || result.error !== undefined) {
        if (result.process.killed) {
          const fresh = new FunctionProcess({ names: subject.names, rotated: subject.sm });
          run = handlerRunner(subject.kind(fresh), fresh, subject.targets, ENV);
        }
        steps.unshift('setSecret');
      }
      try {
        for (const step of steps) await run(step, result.token);
        for (const p of await checks(subject, result.token, 'end')) failures.push(`${where}: ${p}`);
      } catch (error) {
        failures.push(`${where}: did not converge: ${(error as Error).message}`);
      }
    }
  }
  return failures;
}

const pgSupport = serverSupport(POSTGRES);
describe.skipIf(!pgSupport.available)(`Warm crash matrix, PostgreSQL ${pgSupport.reason}`, () => {
  const name = 'PostgreSQL alternating-users';
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgres();
    await server.query('CREATE DATABASE appdb');
    await server.query('REVOKE CONNECT, TEMPORARY ON DATABASE appdb FROM PUBLIC');
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function prepare(): Promise<Subject> {
    const tag = randomSuffix();
    const password = randomPassword();
    const u = ident(`cm_${tag}`);
    await server.query(
      [
        `CREATE ROLE ${u} LOGIN PASSWORD ${literal(scramSha256Verifier(password))}`,
        `GRANT CONNECT ON DATABASE appdb TO ${u}`,
        `CREATE TABLE public.${ident(`shared_${tag}`)} (id int)`,
        `GRANT SELECT ON public.${ident(`shared_${tag}`)} TO ${u}`,
      ].join(';\n'),
      [],
      'appdb',
    );
    return {
      ...secretPair(tag, server, { engine: 'postgres', password, ssl: 'false' }),
      kind: (process) =>
        withConnector(postgresKind, (c) => postgresDialects(c), connectPostgres, process),
      logins: async (s) => {
        const { username, password: p } = JSON.parse(s) as { username: string; password: string };
        return new Map([[username, await server.canLogin(username, p, { database: 'appdb' })]]);
      },
    };
  }

  it('a warm setSecret (kept admin session) failing at each call converges without losing a credential', async () => {
    expect(await warmMatrix(name, prepare)).toEqual([]);
  }, 300_000);
});

const mySupport = serverSupport(MARIADB);
describe.skipIf(!mySupport.available)(`Warm crash matrix, MariaDB ${mySupport.reason}`, () => {
  const name = 'MariaDB alternating-users';
  let server: MariadbServer;
  beforeAll(async () => {
    server = await startMariadb();
    await server.query('CREATE DATABASE appdb');
    await server.query('CREATE TABLE appdb.t (id int)');
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function prepare(): Promise<Subject> {
    const tag = randomSuffix();
    const password = randomPassword();
    await createMariadbAppUser(server, `cm_${tag}`, password, `r_${tag}`);
    return {
      ...secretPair(tag, server, { engine: 'mariadb', password, ssl: false }),
      kind: (process) =>
        withConnector(mysqlKind, (c) => mysqlDialects(ENV, c), connectMysql, process),
      logins: async (s) => {
        const { username, password: p } = JSON.parse(s) as { username: string; password: string };
        const accounts = await server.query<{ host: string; hash: string }>(
          'SELECT Host AS host, authentication_string AS hash FROM mysql.user WHERE User = ?',
          [username],
        );
        const reached = accounts.some((a) => a.host === '127.0.0.1') ? '127.0.0.1' : '%';
        const out = new Map<string, boolean>();
        for (const { host, hash } of accounts)
          out.set(
            `${username}@${host}`,
            host === reached
              ? await server.canLogin(username, p)
              : hash === mysqlNativePasswordHash(p),
          );
        return out;
      },
    };
  }

  it('a warm setSecret (kept admin session) failing at each call converges without losing a credential', async () => {
    expect(await warmMatrix(name, prepare)).toEqual([]);
  }, 300_000);
});
