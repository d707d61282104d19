import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialRejectedError } from '../../shared/errors.js';
import type { AdminSecretReader } from '../../shared/kinds/CredentialKind.js';
import { GrantParityError, UsernameLengthError } from '../../shared/strategies/database/errors.js';
import { databaseStrategyFromEnv } from '../../shared/strategies/database/mode.js';
import { connectPostgres } from '../../shared/strategies/postgres/connect.js';
import { postgresKind } from '../../shared/strategies/postgres/kind.js';
import {
  PostgresDialect,
  postgresDialects,
} from '../../shared/strategies/postgres/PostgresDialect.js';
import { PRIVILEGES_SQL, privilegeParams } from '../../shared/strategies/postgres/privileges.js';
import { scramSha256Verifier } from '../../shared/strategies/postgres/scram.js';
import { adminSessionsReused, captureLogs } from '../helpers/captureLogs.js';
import { countingConnector, emptyTally } from '../helpers/countingConnector.js';
import {
  hostilePassword,
  hostileUsername,
  randomPassword,
  randomSuffix,
} from '../helpers/credentials.js';
import { postgresDerivedSecrets } from '../helpers/derivedSecrets.js';
import { type AdminSecretRig, adminSecretRig, rotationRig } from '../helpers/rotationRig.js';
import { POSTGRES, type PostgresServer, startPostgres } from '../helpers/servers/postgres.js';
import { serverSupport } from '../helpers/servers/support.js';
import { describeStrategyConformance } from '../helpers/strategyConformance.js';

const { escapeIdentifier: ident, escapeLiteral: literal } = pg;
const support = serverSupport(POSTGRES);
const ENV = { ROTATION_MODE: 'alternating-users' };

describe.skipIf(!support.available)(
  `PostgreSQL alternating-users rotation (real server) ${support.reason}`,
  () => {
    let server: PostgresServer;
    let admin: AdminSecretRig;
    const logs = captureLogs();

    beforeAll(async () => {
      server = await startPostgres();
      admin = adminSecretRig(
        JSON.stringify({
          engine: 'postgres',
          host: server.host,
          port: server.port,
          username: server.admin.username,
          password: server.admin.password,
        }),
      );
    });
    afterAll(async () => {
      await server?.stop();
    });

    const strategy = (admins: AdminSecretReader = admin.source, env = ENV) =>
      databaseStrategyFromEnv(postgresDialects(), env, { admins });
    const setPassword = (username: string, password: string) =>
      server.query(
        `ALTER ROLE ${ident(username)} PASSWORD ${literal(scramSha256Verifier(password))}`,
      );

    /**
     * An application user with a realistic set of privileges: a group role, a schema and a
     * table (with a serial sequence) it owns, a table of someone else's it may read and
     * write, a search_path and default privileges.
     */
    async function seedApp(
      username = `app_${randomSuffix()}`,
      password = randomPassword(),
      masterarn = admin.arn,
    ) {
      const tag = randomSuffix();
      const u = ident(username);
      await server.query(`CREATE ROLE ${ident(`readers_${tag}`)} NOLOGIN`);
      await server.query(
        `CREATE ROLE ${u} LOGIN PASSWORD ${literal(scramSha256Verifier(password))}`,
      );
      await server.query(`GRANT ${ident(`readers_${tag}`)} TO ${u}`);
      await server.query(`CREATE SCHEMA ${ident(`s_${tag}`)} AUTHORIZATION ${u}`);
      await server.query(`CREATE TABLE ${ident(`s_${tag}`)}.owned (id serial PRIMARY KEY, v text)`);
      await server.query(`ALTER TABLE ${ident(`s_${tag}`)}.owned OWNER TO ${u}`);
      await server.query(`CREATE TABLE public.${ident(`shared_${tag}`)} (id int)`);
      await server.query(`GRANT SELECT, INSERT ON public.${ident(`shared_${tag}`)} TO ${u}`);
      await server.query(`ALTER ROLE ${u} SET search_path = ${ident(`s_${tag}`)}, public`);
      await server.query(
        `ALTER DEFAULT PRIVILEGES FOR ROLE ${u} IN SCHEMA ${ident(`s_${tag}`)} GRANT SELECT ON TABLES TO ${ident(`readers_${tag}`)}`,
      );
      const secret = JSON.stringify({
        engine: 'postgres',
        host: server.host,
        port: server.port,
        username,
        password,
        dbname: 'postgres',
        masterarn,
        ssl: 'false',
        extra: 'kept',
      });
      return { secret, tag, username, password };
    }

    /** The normalised privilege keys of a user, read through the dialect as admin. */
    async function privilegeKeys(username: string, base: string): Promise<string[]> {
      const dialect = new PostgresDialect();
      const session = await connectPostgres(
        {
          host: server.host,
          port: server.port,
          username: server.admin.username,
          password: server.admin.password,
          dbname: 'postgres',
          tls: { mode: 'disable' },
        },
        { signal: new AbortController().signal, connectTimeoutMs: 5_000 },
      );
      try {
        const pair = { current: username, pending: username, base, clone: `${base}_clone` };
        const [privileges = []] = await dialect.privileges(session, [username], pair);
        return privileges.map((p) => p.key).sort();
      } finally {
        await session.close();
      }
    }

    async function asUser(secret: Record<string, unknown>, sql: string): Promise<unknown[]> {
      const client = new pg.Client({
        host: server.host,
        port: server.port,
        user: secret.username as string,
        password: secret.password as string,
        database: 'postgres',
      });
      await client.connect();
      try {
        return (await client.query(sql)).rows;
      } finally {
        await client.end();
      }
    }

    describeStrategyConformance('postgres alternating-users', {
      createStrategy: () => strategy(),
      seed: async () => (await seedApp()).secret,
      works: async (s) => {
        const secret = JSON.parse(s) as { username: string; password: string };
        return server.canLogin(secret.username, secret.password);
      },
      corrupt: (s) => JSON.stringify({ ...JSON.parse(s), password: randomPassword() }),
      kind: postgresKind,
      derivedSecrets: postgresDerivedSecrets((sql, params) => server.query(sql, params)),
      env: ENV,
      extraSecrets: () => [server.admin.password],
    });

    it('setSecret, once both users exist: two logins (current, admin), none refused, three statements', async () => {
      const { secret } = await seedApp();
      let tally = emptyTally();
      const noKeep = { ...ENV, ADMIN_SESSION_KEEP_SECONDS: '0' };
      const counted = databaseStrategyFromEnv(
        postgresDialects(countingConnector(connectPostgres, () => tally)),
        noKeep,
        { admins: admin.source },
      );
      const rig = rotationRig(counted, secret, ENV);
      await rig.rotate();
      await rig.rotate();
      const token = rig.sm.startRotation();
      await rig.run('createSecret', token);
      tally = emptyTally();
      await rig.run('setSecret', token);
      // Before: 3 connects (a refused pending login first) and 16 statements (six privilege
      // reads per user, the SCRAM iteration count read separately); then 6 (the probe, a
      // search_path pin and half the privilege read on each session, the password).
      // Now: the pin and the whole read on the current user's session in one round trip;
      // BEGIN, the password and the iteration count in one on the admin's; COMMIT.
      expect(tally).toMatchObject({ connects: 2, refused: 0, statements: 3 });
      for (const step of ['testSecret', 'finishSecret'] as const) await rig.run(step, token);
      const now = rig.current();
      expect(await server.canLogin(now.username as string, now.password as string)).toBe(true);
    });

    it("keeps the admin's session for the next setSecret: one login (current's), the kept session probed; a session the server ended is replaced", async () => {
      const { secret } = await seedApp();
      let tally = emptyTally();
      const counted = databaseStrategyFromEnv(
        postgresDialects(countingConnector(connectPostgres, () => tally)),
        ENV,
        { admins: admin.source },
      );
      const rig = rotationRig(counted, secret, ENV);
      const reused = () => adminSessionsReused(logs);
      // The first creates the clone: a statement failed on its admin session (the staged
      // change of a user not there yet), so that session is not kept; the second's is.
      await rig.rotate();
      await rig.rotate();
      expect(reused()).toEqual([false, false]);
      const token = rig.sm.startRotation();
      await rig.run('createSecret', token);
      tally = emptyTally();
      await rig.run('setSecret', token);
      expect(reused().at(-1)).toBe(true);
      // The probe of the kept session, then the same three statements as with a new login.
      expect(tally).toMatchObject({ connects: 1, refused: 0, statements: 4 });
      for (const step of ['testSecret', 'finishSecret'] as const) await rig.run(step, token);
      const adminSessions = `FROM pg_stat_activity WHERE usename = $1 AND application_name = 'rotator' AND pid <> pg_backend_pid()`;
      const [idle] = await server.query<{ n: string }>(`SELECT count(*) AS n ${adminSessions}`, [
        server.admin.username,
      ]);
      expect(Number(idle?.n)).toBeGreaterThanOrEqual(1);
      // Ended by the server while the function was frozen: the probe finds out, a new login
      // takes its place, and the rotation does not notice.
      await server.query(`SELECT pg_terminate_backend(pid) ${adminSessions}`, [
        server.admin.username,
      ]);
      await rig.rotate();
      expect(reused().at(-1)).toBe(false);
      for (const value of [rig.current(), rig.previous() as Record<string, unknown>]) {
        expect(await server.canLogin(value.username as string, value.password as string)).toBe(
          true,
        );
      }
    });

    it('alternates user and user_clone; the previous user keeps working; the clone has the same privileges', async () => {
      const { secret, tag, username } = await seedApp();
      const rig = rotationRig(strategy(), secret, ENV);
      await rig.rotate();
      const first = rig.current();
      expect(first.username).toBe(`${username}_clone`);
      expect(first.extra).toBe('kept');
      expect(first.masterarn).toBe(admin.arn);
      expect(await server.canLogin(first.username as string, first.password as string)).toBe(true);
      const previous = rig.previous() as Record<string, unknown>;
      expect(await server.canLogin(previous.username as string, previous.password as string)).toBe(
        true,
      );
      expect(await privilegeKeys(`${username}_clone`, username)).toEqual(
        await privilegeKeys(username, username),
      );
      // search_path came along: the clone finds the base user's table unqualified.
      await asUser(first, 'INSERT INTO owned (v) VALUES (1)');
      await asUser(first, `INSERT INTO ${ident(`shared_${tag}`)} VALUES (1)`);

      await rig.rotate();
      const second = rig.current();
      expect(second.username).toBe(username);
      expect(second.password).not.toBe(previous.password);
      expect(await server.canLogin(username, second.password as string)).toBe(true);
      expect(await server.canLogin(first.username as string, first.password as string)).toBe(true);
      expect(await server.canLogin(username, previous.password as string)).toBe(false);
      expect(await privilegeKeys(`${username}_clone`, username)).toEqual(
        await privilegeKeys(username, username),
      );
      const serverLog = await server.readLog();
      for (const value of [previous.password, first.password, second.password] as string[]) {
        expect(serverLog.includes(value)).toBe(false);
      }
      logs.assertNoneContain([
        previous.password as string,
        first.password as string,
        second.password as string,
        server.admin.password,
      ]);
    });

    it('repairs grant drift: grants given to the active clone and objects it created reach the user about to take over', async () => {
      const { secret, tag, username } = await seedApp();
      const rig = rotationRig(strategy(), secret, ENV);
      await rig.rotate();
      const clone = rig.current();
      // While the clone is active: it creates a table, and an operator grants it (only) a table.
      await asUser(clone, 'CREATE TABLE made_by_clone (id int)');
      await server.query(`CREATE TABLE public.${ident(`extra_${tag}`)} (id int)`);
      await server.query(
        `GRANT SELECT ON public.${ident(`extra_${tag}`)} TO ${ident(clone.username as string)}`,
      );
      await server.query(`CREATE ROLE ${ident(`auditors_${tag}`)} NOLOGIN`);
      await server.query(`GRANT ${ident(`auditors_${tag}`)} TO ${ident(clone.username as string)}`);
      expect(await privilegeKeys(username, username)).not.toEqual(
        await privilegeKeys(clone.username as string, username),
      );

      await rig.rotate();
      const base = rig.current();
      expect(base.username).toBe(username);
      await asUser(base, 'SELECT * FROM made_by_clone');
      await asUser(base, `SELECT * FROM ${ident(`extra_${tag}`)}`);
      await asUser(base, 'DROP TABLE made_by_clone');
      expect(await privilegeKeys(clone.username as string, username)).toEqual(
        await privilegeKeys(username, username),
      );
      const parityLines = logs
        .json()
        .filter((line) => String(line.message).startsWith('Grant parity'));
      expect(parityLines.length).toBeGreaterThan(0);
    });

    it("reads the same privileges for both users on the current user's session as on the admin's", async () => {
      const { secret, tag, username } = await seedApp();
      const rig = rotationRig(strategy(), secret, ENV);
      await rig.rotate();
      const clone = rig.current();
      const c = ident(clone.username as string);
      // Beyond the seed: a function, a sequence, a database-level setting, drift on the clone.
      await server.query(
        `CREATE FUNCTION ${ident(`s_${tag}`)}.f() RETURNS int LANGUAGE sql AS 'SELECT 1'`,
      );
      await server.query(`REVOKE EXECUTE ON FUNCTION ${ident(`s_${tag}`)}.f() FROM PUBLIC`);
      await server.query(
        `GRANT EXECUTE ON FUNCTION ${ident(`s_${tag}`)}.f() TO ${ident(username)}`,
      );
      await server.query(`CREATE SEQUENCE public.${ident(`seq_${tag}`)}`);
      await server.query(`GRANT USAGE ON SEQUENCE public.${ident(`seq_${tag}`)} TO ${c}`);
      await server.query(`ALTER ROLE ${c} IN DATABASE postgres SET work_mem = '8MB'`);
      const pair = {
        current: clone.username as string,
        pending: username,
        base: username,
        clone: clone.username as string,
      };
      const dialect = new PostgresDialect();
      const read = async (login: { username: string; password: string }) => {
        const session = await connectPostgres(
          {
            host: server.host,
            port: server.port,
            ...login,
            dbname: 'postgres',
            tls: { mode: 'disable' },
          },
          { signal: new AbortController().signal, connectTimeoutMs: 5_000 },
        );
        try {
          const lists = await dialect.privileges(session, [pair.current, pair.pending], pair);
          return lists.map((list) => list.map((p) => p.key).sort());
        } finally {
          await session.close();
        }
      };
      const asAdmin = await read(server.admin);
      const asCurrent = await read({
        username: clone.username as string,
        password: clone.password as string,
      });
      expect(asAdmin[0]).toEqual(
        expect.arrayContaining([expect.stringMatching(/^SETTING work_mem/)]),
      );
      expect(asAdmin[1]).toEqual(
        expect.arrayContaining([expect.stringMatching(/EXECUTE ON FUNCTION/)]),
      );
      expect(asCurrent).toEqual(asAdmin);
      // A function in the users' own search_path, granted to the active user only: the next
      // rotation gives it to the user taking over (a name read on one session, granted on
      // the other).
      await server.query(
        `CREATE FUNCTION ${ident(`s_${tag}`)}.g(n int) RETURNS int LANGUAGE sql AS 'SELECT n'`,
      );
      await server.query(`REVOKE EXECUTE ON FUNCTION ${ident(`s_${tag}`)}.g(int) FROM PUBLIC`);
      await server.query(`GRANT EXECUTE ON FUNCTION ${ident(`s_${tag}`)}.g(int) TO ${c}`);
      await rig.rotate();
      const base = rig.current();
      expect(base.username).toBe(username);
      expect(await asUser(base, `SELECT ${ident(`s_${tag}`)}.g(7) AS v`)).toEqual([{ v: 7 }]);
    });

    it('a function the application plants on its search_path cannot make the admin grant a role (privilege reads pin search_path)', async () => {
      const { secret, tag, username, password } = await seedApp();
      const rig = rotationRig(strategy(), secret, ENV);
      await rig.rotate();
      // The application, with its own credential, shadows pg_has_role in the schema it owns
      // (on its search_path, and its clone's): an exact text argument beats pg_catalog's name.
      const client = new pg.Client({
        host: server.host,
        port: server.port,
        user: username,
        password,
        database: 'postgres',
      });
      await client.connect();
      try {
        await client.query(`CREATE FUNCTION ${ident(`s_${tag}`)}.pg_has_role(u text, r oid, m text)
          RETURNS boolean LANGUAGE sql AS $$ SELECT CASE WHEN r = 'pg_read_all_data'::regrole
            AND u LIKE '%_clone' THEN true ELSE pg_catalog.pg_has_role(u::name, r, m) END $$`);
      } finally {
        await client.end();
      }
      await rig.rotate();
      await rig.rotate();
      for (const user of [username, `${username}_clone`]) {
        const [row] = await server.query<{ member: boolean }>(
          `SELECT pg_catalog.pg_has_role(${literal(user)}, 'pg_read_all_data', 'MEMBER') AS member`,
        );
        expect(row?.member, user).toBe(false);
      }
    });

    it('reports drift the admin login cannot repair with GrantParityError, listing what differs, and promotes nothing', async () => {
      // An admin that can manage roles but has no rights on other people's tables.
      const limited = { username: `limited_${randomSuffix()}`, password: randomPassword() };
      await server.query(
        `CREATE ROLE ${ident(limited.username)} LOGIN CREATEROLE PASSWORD ${literal(scramSha256Verifier(limited.password))}`,
      );
      const limitedAdmin = adminSecretRig(
        JSON.stringify({ username: limited.username, password: limited.password }),
      );
      // The clone is active and was granted a table the base user lacks; the admin has no
      // rights on that table, so it cannot give it to the base user about to take over.
      const tag = randomSuffix();
      const base = `app_${tag}`;
      const username = `${base}_clone`;
      const password = randomPassword();
      await server.query(
        `CREATE ROLE ${ident(base)} LOGIN PASSWORD ${literal(scramSha256Verifier(randomPassword()))}`,
      );
      await server.query(
        `CREATE ROLE ${ident(username)} LOGIN PASSWORD ${literal(scramSha256Verifier(password))}`,
      );
      await server.query(`GRANT ${ident(base)} TO ${ident(username)}`);
      await server.query(`CREATE TABLE public.${ident(`secret_${tag}`)} (id int)`);
      await server.query(`GRANT SELECT ON public.${ident(`secret_${tag}`)} TO ${ident(username)}`);
      const secret = JSON.stringify({
        engine: 'postgres',
        host: server.host,
        port: server.port,
        username,
        password,
        masterarn: limitedAdmin.arn,
        ssl: false,
      });
      const rig = rotationRig(strategy(limitedAdmin.source), secret, ENV);
      const token = rig.sm.startRotation();
      await rig.run('createSecret', token);
      const error = await rig.run('setSecret', token).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GrantParityError);
      const missing = (error as GrantParityError).missing;
      expect(missing).toEqual([`SELECT ON TABLE "public".${ident(`secret_${tag}`)}`]);
      expect((error as Error).message).toContain(
        `SELECT ON TABLE "public".${ident(`secret_${tag}`)}`,
      );
      expect((error as Error).message).not.toContain(limited.password);
      expect(rig.sm.versionWith('AWSCURRENT')).not.toBe(token);
    });

    it('the privilege read finds exactly the role named, never one a name over 63 bytes truncates to (found in review)', async () => {
      const base = `a${randomSuffix()}`.padEnd(58, 'a');
      const current = `${base}_clone`; // 64 bytes: no role has this name
      await server.query(`CREATE ROLE ${ident(current.slice(0, 63))}`);
      const pair = { current, pending: base, base, clone: current };
      const rows = await server.query(PRIVILEGES_SQL, privilegeParams([current], pair));
      expect(rows).toEqual([]);
    });

    it('works with hostile usernames and passwords', async () => {
      const username = hostileUsername();
      const password = hostilePassword();
      const env = { ...ENV, EXCLUDE_CHARACTERS: '', PASSWORD_LENGTH: '48' };
      const { secret } = await seedApp(username, password);
      const rig = rotationRig(
        databaseStrategyFromEnv(postgresDialects(), env, { admins: admin.source }),
        secret,
        env,
      );
      await rig.rotate();
      await rig.rotate();
      const current = rig.current();
      const previous = rig.previous() as Record<string, unknown>;
      expect(current.username).toBe(username);
      expect(previous.username).toBe(`${username}_clone`);
      expect(await server.canLogin(username, current.password as string)).toBe(true);
      expect(await server.canLogin(previous.username as string, previous.password as string)).toBe(
        true,
      );
      const serverLog = await server.readLog();
      expect(serverLog.includes(current.password as string)).toBe(false);
      expect(serverLog.includes(previous.password as string)).toBe(false);
    });

    it('refuses to act as admin when the current value cannot log in (confused deputy): the admin never logs in', async () => {
      const { secret, username } = await seedApp();
      const rig = rotationRig(strategy(), secret, ENV);
      const token = rig.sm.startRotation();
      await rig.run('createSecret', token);
      await setPassword(username, randomPassword());
      const adminLogins = async () =>
        (await server.readLog()).split(
          `connection authorized: user=${server.admin.username} database=postgres`,
        ).length;
      const loginsBefore = await adminLogins();
      expect(
        loginsBefore,
        'the log records admin logins (seeding logs in as admin)',
      ).toBeGreaterThan(1);
      const error = await rig.run('setSecret', token).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CredentialRejectedError);
      expect((error as Error).message).toMatch(/AWSCURRENT/);
      // The admin's connection may have opened beside the current login; its password was
      // never sent, so the server never authorized it.
      expect(await adminLogins()).toBe(loginsBefore);
      expect(
        await server.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [`${username}_clone`]),
      ).toHaveLength(0);
    });

    it('fails setSecret at once with CredentialRejectedError when the current login is refused before the admin connection asks for its password', async () => {
      // The admin secret read takes 150 ms (a GetSecretValue round trip on a warm container,
      // whose DescribeSecret path reads the admin alone): the refusal comes first.
      const slow: AdminSecretReader = {
        current: async (id, options) => {
          await new Promise((resolve) => setTimeout(resolve, 150));
          return admin.source.current(id, options);
        },
        pending: (id, options) => admin.source.pending(id, options),
      };
      const { secret, username } = await seedApp();
      const rig = rotationRig(strategy(slow), secret, ENV);
      const token = rig.sm.startRotation();
      await rig.run('createSecret', token);
      await setPassword(username, randomPassword());
      const started = Date.now();
      const error = await rig.run('setSecret', token).catch((e: unknown) => e);
      // It hung until the step's abort (about the Lambda timeout) before the fix.
      expect(error).toBeInstanceOf(CredentialRejectedError);
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('re-reads the admin secret once (forceFetch) when the cached admin password is refused', async () => {
      const adminUser = { username: `rotadmin_${randomSuffix()}`, password: randomPassword() };
      await server.query(
        `CREATE ROLE ${ident(adminUser.username)} LOGIN SUPERUSER PASSWORD ${literal(scramSha256Verifier(adminUser.password))}`,
      );
      const rotating = adminSecretRig(JSON.stringify(adminUser));
      const first = await seedApp(undefined, undefined, rotating.arn);
      const rig = rotationRig(strategy(rotating.source), first.secret, ENV);
      await rig.rotate();
      expect(rotating.fetches()).toBe(1);
      // The admin secret is rotated behind our back; the provider still caches the old value.
      const next = { ...adminUser, password: randomPassword() };
      await setPassword(adminUser.username, next.password);
      rotating.replace(JSON.stringify(next));
      await rig.rotate();
      expect(rotating.fetches()).toBe(2);
      expect(
        await server.canLogin(rig.current().username as string, rig.current().password as string),
      ).toBe(true);
    });

    it("logs in with the admin secret's AWSPENDING when the admin is half-way through its own rotation, and says so", async () => {
      const adminUser = { username: `rotadmin_${randomSuffix()}`, password: randomPassword() };
      await server.query(
        `CREATE ROLE ${ident(adminUser.username)} LOGIN SUPERUSER PASSWORD ${literal(scramSha256Verifier(adminUser.password))}`,
      );
      const rotating = adminSecretRig(JSON.stringify(adminUser));
      const { secret } = await seedApp(undefined, undefined, rotating.arn);
      // A pending admin value the database does not have yet (before the admin's setSecret):
      // AWSCURRENT still works and is used; the pending value is never read.
      const pendingAdmin = { ...adminUser, password: randomPassword() };
      rotating.sm.startRotation(undefined, JSON.stringify(pendingAdmin));
      // Every admin login a new one: a kept session would go on serving the value it opened
      // with until it ends (ADMIN_SESSION_KEEP_SECONDS; the kept-session test).
      const noKeep = { ...ENV, ADMIN_SESSION_KEEP_SECONDS: '0' };
      const rig = rotationRig(strategy(rotating.source, noKeep), secret, noKeep);
      await rig.rotate();
      const used = () =>
        logs
          .json()
          .filter((line) => line.message === 'Logged in as admin')
          .map((line) => line.adminStage);
      expect(used().at(-1)).toBe('AWSCURRENT');
      expect(rotating.fetches()).toBe(1);
      // The admin's setSecret ran: the database has the pending password, AWSCURRENT is stale.
      await setPassword(adminUser.username, pendingAdmin.password);
      await rig.rotate();
      expect(used().at(-1)).toBe('AWSPENDING');
      expect(
        await server.canLogin(rig.current().username as string, rig.current().password as string),
      ).toBe(true);
      logs.assertNoneContain([adminUser.password, pendingAdmin.password]);
      // Neither value works: a clear refusal naming the admin secret, no value in it.
      await setPassword(adminUser.username, randomPassword());
      const error = await rig.rotate().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(CredentialRejectedError);
      expect((error as Error).message).toContain('admin secret named by masterarn');
      expect((error as Error).message).not.toContain(pendingAdmin.password);
    });

    it('fails createSecret with UsernameLengthError when user_clone would exceed 63 bytes', async () => {
      const username = `u${'x'.repeat(52)}${randomSuffix(6)}`;
      const { secret } = await seedApp(username);
      const rig = rotationRig(strategy(), secret, ENV);
      const error = await rig.rotate().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UsernameLengthError);
      expect((error as Error).message).toMatch(/63 bytes/);
    });
  },
);
