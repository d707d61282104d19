import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialRejectedError } from '../../shared/errors.js';
import { createRotationLogger } from '../../shared/logging/logger.js';
import { GrantParityError, UsernameLengthError } from '../../shared/strategies/database/errors.js';
import { ensureGrantParity } from '../../shared/strategies/database/grantParity.js';
import { databaseStrategyFromEnv } from '../../shared/strategies/database/mode.js';
import { connectMysql } from '../../shared/strategies/mysql/connect.js';
import { mysqlKind } from '../../shared/strategies/mysql/kind.js';
import { MysqlDialect, mysqlDialects } from '../../shared/strategies/mysql/MysqlDialect.js';
import { mysqlNativePasswordHash } from '../../shared/strategies/mysql/nativePassword.js';
import { createMariadbAppUser } from '../helpers/appUsers.js';
import { captureLogs } from '../helpers/captureLogs.js';
import {
  hostilePassword,
  hostileUsername,
  randomPassword,
  randomSuffix,
} from '../helpers/credentials.js';
import { mariadbDerivedSecrets } from '../helpers/derivedSecrets.js';
import { type AdminSecretRig, adminSecretRig, rotationRig } from '../helpers/rotationRig.js';
import { MARIADB, type MariadbServer, startMariadb } from '../helpers/servers/mariadb.js';
import { serverSupport } from '../helpers/servers/support.js';
import { describeStrategyConformance } from '../helpers/strategyConformance.js';

const support = serverSupport(MARIADB);
const ENV = { ROTATION_MODE: 'alternating-users' };

describe.skipIf(!support.available)(
  `MariaDB alternating-users rotation (real server) ${support.reason}`,
  () => {
    let server: MariadbServer;
    let admin: AdminSecretRig;
    const logs = captureLogs();

    beforeAll(async () => {
      server = await startMariadb();
      await server.query('CREATE DATABASE appdb');
      await server.query('CREATE TABLE appdb.t (id int)');
      admin = adminSecretRig(
        JSON.stringify({ username: server.admin.username, password: server.admin.password }),
      );
    });
    afterAll(async () => {
      await server?.stop();
    });

    const strategy = (admins = admin.source, env = ENV) =>
      databaseStrategyFromEnv(mysqlDialects(env), env, { admins });

    /**
     * An application user with accounts at two hosts, database and table grants (one WITH
     * GRANT OPTION), a role and a default role.
     */
    async function seedApp(
      username = `app_${randomSuffix()}`,
      password = randomPassword(),
      masterarn = admin.arn,
    ) {
      await createMariadbAppUser(server, username, password);
      const secret = JSON.stringify({
        engine: 'mariadb',
        host: server.host,
        port: server.port,
        username,
        password,
        dbname: 'appdb',
        masterarn,
        ssl: false,
        extra: 'kept',
      });
      return { secret, username };
    }

    async function adminSession() {
      return connectMysql(
        {
          host: server.host,
          port: server.port,
          username: server.admin.username,
          password: server.admin.password,
          dbname: undefined,
          tls: { mode: 'disable' },
        },
        { signal: new AbortController().signal, connectTimeoutMs: 5_000 },
      );
    }

    async function privilegeKeys(username: string): Promise<string[]> {
      const session = await adminSession();
      try {
        const [privileges = []] = await new MysqlDialect({
          label: 'MariaDB',
          maxUsernameLength: 80,
        }).privileges(session, [username]);
        return privileges.map((p) => p.key).sort();
      } finally {
        await session.close();
      }
    }

    describeStrategyConformance('mariadb alternating-users', {
      createStrategy: () => strategy(),
      seed: async () => (await seedApp()).secret,
      works: async (s) => {
        const secret = JSON.parse(s) as { username: string; password: string };
        return server.canLogin(secret.username, secret.password);
      },
      corrupt: (s) => JSON.stringify({ ...JSON.parse(s), password: randomPassword() }),
      kind: mysqlKind,
      derivedSecrets: mariadbDerivedSecrets((sql, params) => server.query(sql, params)),
      env: ENV,
      extraSecrets: () => [server.admin.password],
    });

    it('alternates user and user_clone at every host; the previous user keeps working; grants and roles are equal', async () => {
      const { secret, username } = await seedApp();
      const rig = rotationRig(strategy(), secret, ENV);
      await rig.rotate();
      const first = rig.current();
      const initial = rig.previous() as Record<string, unknown>;
      expect(first.username).toBe(`${username}_clone`);
      expect(first.extra).toBe('kept');
      expect(await server.canLogin(first.username as string, first.password as string)).toBe(true);
      expect(await server.canLogin(username, initial.password as string)).toBe(true);
      expect(await privilegeKeys(`${username}_clone`)).toEqual(await privilegeKeys(username));
      const hosts = await server.query<{ Host: string }>(
        'SELECT Host FROM mysql.user WHERE User = ? ORDER BY Host',
        [`${username}_clone`],
      );
      expect(hosts.map((h) => h.Host)).toEqual(['%', '127.0.0.1']);

      await rig.rotate();
      const second = rig.current();
      expect(second.username).toBe(username);
      expect(await server.canLogin(username, second.password as string)).toBe(true);
      expect(await server.canLogin(username, initial.password as string)).toBe(false);
      expect(await server.canLogin(first.username as string, first.password as string)).toBe(true);
      const generalLog = await server.readGeneralLog();
      for (const value of [initial.password, first.password, second.password] as string[])
        expect(generalLog.includes(value)).toBe(false);
      logs.assertNoneContain([
        initial.password as string,
        first.password as string,
        second.password as string,
        server.admin.password,
      ]);
    });

    it('completes a clone that exists at only some hosts, and sets the password of every account', async () => {
      const { secret, username } = await seedApp();
      await server.query("CREATE USER ?@'%' IDENTIFIED BY PASSWORD ?", [
        `${username}_clone`,
        mysqlNativePasswordHash(randomPassword()),
      ]);
      const rig = rotationRig(strategy(), secret, ENV);
      await rig.rotate();
      const hash = mysqlNativePasswordHash(rig.current().password as string);
      const accounts = await server.query<{ Host: string; authentication_string: string }>(
        'SELECT Host, authentication_string FROM mysql.user WHERE User = ? ORDER BY Host',
        [`${username}_clone`],
      );
      expect(accounts).toEqual([
        { Host: '%', authentication_string: hash },
        { Host: '127.0.0.1', authentication_string: hash },
      ]);
      expect(await privilegeKeys(`${username}_clone`)).toEqual(await privilegeKeys(username));
    });

    it('a retried setSecret after a crash between two accounts sets the password of every account', async () => {
      // Accounts at '%' (the one the function logs in through) and at a host only some
      // clients connect from; the clone exists from an earlier rotation with an old password.
      const username = `app_${randomSuffix()}`;
      const password = randomPassword();
      const otherHost = `10.${randomInt(1, 255)}.${randomInt(1, 255)}.${randomInt(1, 255)}`;
      for (const user of [username, `${username}_clone`]) {
        const hash = mysqlNativePasswordHash(user === username ? password : randomPassword());
        for (const host of ['%', otherHost]) {
          await server.query('CREATE USER ?@? IDENTIFIED BY PASSWORD ?', [user, host, hash]);
          await server.query('GRANT SELECT ON appdb.* TO ?@?', [user, host]);
        }
      }
      const rig = rotationRig(
        strategy(),
        JSON.stringify({
          engine: 'mariadb',
          host: server.host,
          port: server.port,
          username,
          password,
          dbname: 'appdb',
          masterarn: admin.arn,
          ssl: false,
        }),
        ENV,
      );
      const token = rig.sm.startRotation();
      await rig.run('createSecret', token);
      const pending = JSON.parse(rig.sm.valueOf('AWSPENDING') as string) as {
        username: string;
        password: string;
      };
      const hash = mysqlNativePasswordHash(pending.password);
      // The first attempt's setSecret set the '%' account (Host order) and then crashed.
      await server.query("SET PASSWORD FOR ?@'%' = ?", [pending.username, hash]);
      for (const step of ['setSecret', 'testSecret', 'finishSecret'] as const)
        await rig.run(step, token);
      const accounts = await server.query<{ Host: string; authentication_string: string }>(
        'SELECT Host, authentication_string FROM mysql.user WHERE User = ? ORDER BY Host',
        [pending.username],
      );
      // Clients connecting from the other host must not be locked out after promotion.
      expect(accounts).toEqual([
        { Host: '%', authentication_string: hash },
        { Host: otherHost, authentication_string: hash },
      ]);
    });

    it('repairs grant drift on the next rotation', async () => {
      const { secret, username } = await seedApp();
      const rig = rotationRig(strategy(), secret, ENV);
      await rig.rotate();
      await server.query("GRANT CREATE ON appdb.* TO ?@'%'", [`${username}_clone`]);
      await server.query("REVOKE INSERT ON appdb.* FROM ?@'127.0.0.1'", [username]);
      expect(await privilegeKeys(username)).not.toEqual(await privilegeKeys(`${username}_clone`));
      await rig.rotate();
      expect(rig.current().username).toBe(username);
      expect(await privilegeKeys(username)).toEqual(await privilegeKeys(`${username}_clone`));
    });

    it('copies TLS requirements (REQUIRE SSL) and restores them when they drift', async () => {
      const username = `tls_${randomSuffix()}`;
      await server.query("CREATE USER ?@'%' IDENTIFIED BY PASSWORD ? REQUIRE SSL", [
        username,
        mysqlNativePasswordHash(randomPassword()),
      ]);
      await server.query("GRANT SELECT ON appdb.t TO ?@'%'", [username]);
      const dialect = new MysqlDialect({ label: 'MariaDB', maxUsernameLength: 80 });
      const pair = {
        current: username,
        pending: `${username}_clone`,
        base: username,
        clone: `${username}_clone`,
      };
      const registered: string[] = [];
      const change = {
        username: pair.pending,
        password: randomPassword(),
        register: (v: string) => registered.push(v),
      };
      const logger = createRotationLogger({ serviceName: 'test' });
      const session = await adminSession();
      try {
        expect(await dialect.ensureUser(session, username, change)).toBe(true);
        const report = await ensureGrantParity(dialect, session, pair, logger);
        expect(report.repaired.join('\n')).toContain('REQUIRE ANY');
        await session.query("ALTER USER ?@'%' REQUIRE NONE", [pair.pending]);
        await ensureGrantParity(dialect, session, pair, logger);
      } finally {
        await session.close();
      }
      const [row] = await server.query<{ ssl_type: string }>(
        "SELECT ssl_type FROM mysql.user WHERE User = ? AND Host = '%'",
        [pair.pending],
      );
      expect(row?.ssl_type).toBe('ANY');
      expect(registered).toEqual([mysqlNativePasswordHash(change.password)]);
    });

    it('reports drift the admin login cannot repair with GrantParityError and promotes nothing', async () => {
      const limited = { username: `lim_${randomSuffix()}`, password: randomPassword() };
      await server.query("CREATE USER ?@'%' IDENTIFIED BY PASSWORD ?", [
        limited.username,
        mysqlNativePasswordHash(limited.password),
      ]);
      await server.query("GRANT CREATE USER ON *.* TO ?@'%'", [limited.username]);
      await server.query("GRANT SELECT ON mysql.* TO ?@'%'", [limited.username]);
      const limitedAdmin = adminSecretRig(JSON.stringify(limited));
      const username = `app_${randomSuffix()}`;
      const password = randomPassword();
      await server.query("CREATE USER ?@'%' IDENTIFIED BY PASSWORD ?", [
        username,
        mysqlNativePasswordHash(password),
      ]);
      await server.query("GRANT SELECT ON appdb.* TO ?@'%'", [username]);
      const secret = JSON.stringify({
        engine: 'mariadb',
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
      expect((error as GrantParityError).missing).toEqual([
        'ACCOUNT @%: GRANT SELECT ON `appdb`.* TO <user>',
      ]);
      expect((error as Error).message).not.toContain(limited.password);
      expect(rig.sm.versionWith('AWSCURRENT')).not.toBe(token);
    });

    it("logs in with the admin secret's AWSPENDING when the admin is half-way through its own rotation, and says so", async () => {
      const adminUser = { username: `adm_${randomSuffix()}`, password: randomPassword() };
      await server.query("CREATE USER ?@'%' IDENTIFIED BY PASSWORD ?", [
        adminUser.username,
        mysqlNativePasswordHash(adminUser.password),
      ]);
      await server.query("GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION", [
        adminUser.username,
      ]);
      const setAdminPassword = (password: string) =>
        server.query("SET PASSWORD FOR ?@'%' = ?", [
          adminUser.username,
          mysqlNativePasswordHash(password),
        ]);
      const rotating = adminSecretRig(JSON.stringify(adminUser));
      // A plain application user (no roles: this admin holds no role's ADMIN OPTION).
      const username = `app_${randomSuffix()}`;
      const password = randomPassword();
      await server.query("CREATE USER ?@'%' IDENTIFIED BY PASSWORD ?", [
        username,
        mysqlNativePasswordHash(password),
      ]);
      await server.query("GRANT SELECT ON appdb.* TO ?@'%'", [username]);
      const secret = JSON.stringify({
        engine: 'mariadb',
        host: server.host,
        port: server.port,
        username,
        password,
        masterarn: rotating.arn,
        ssl: false,
      });
      const pendingAdmin = { ...adminUser, password: randomPassword() };
      rotating.sm.startRotation(undefined, JSON.stringify(pendingAdmin));
      // Every admin login a new one: a kept session would go on serving the value it opened
      // with until it ends (ADMIN_SESSION_KEEP_SECONDS; the kept-session test).
      const noKeep = { ...ENV, ADMIN_SESSION_KEEP_SECONDS: '0' };
      const rig = rotationRig(strategy(rotating.source, noKeep), secret, noKeep);
      const used = () =>
        logs
          .json()
          .filter((line) => line.message === 'Logged in as admin')
          .map((line) => line.adminStage);
      // Before the admin's setSecret: AWSCURRENT works and is used.
      await rig.rotate();
      expect(used().at(-1)).toBe('AWSCURRENT');
      // After it: the server holds the pending password; AWSPENDING is used.
      await setAdminPassword(pendingAdmin.password);
      await rig.rotate();
      expect(used().at(-1)).toBe('AWSPENDING');
      expect(
        await server.canLogin(rig.current().username as string, rig.current().password as string),
      ).toBe(true);
      logs.assertNoneContain([adminUser.password, pendingAdmin.password]);
      await setAdminPassword(randomPassword());
      const error = await rig.rotate().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(CredentialRejectedError);
      expect((error as Error).message).not.toContain(pendingAdmin.password);
    });

    it('works with hostile usernames and passwords', async () => {
      const username = hostileUsername();
      const password = hostilePassword();
      const env = { ...ENV, EXCLUDE_CHARACTERS: '', PASSWORD_LENGTH: '48' };
      const { secret } = await seedApp(username, password);
      const rig = rotationRig(
        databaseStrategyFromEnv(mysqlDialects(env), env, { admins: admin.source }),
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
      expect(await privilegeKeys(`${username}_clone`)).toEqual(await privilegeKeys(username));
      const generalLog = await server.readGeneralLog();
      expect(generalLog.includes(current.password as string)).toBe(false);
      expect(generalLog.includes(previous.password as string)).toBe(false);
    });

    it('refuses a username with a 4-byte UTF-8 character in createSecret, naming the field, before any statement', async () => {
      // MariaDB keeps user names in utf8mb3: such a user cannot exist, and looking one up
      // failed with ER_CANT_AGGREGATE_2COLLATIONS in setSecret.
      const { secret } = await seedApp();
      const astral = JSON.stringify({
        ...JSON.parse(secret),
        username: `app\u{1F600}${randomSuffix()}`,
      });
      const rig = rotationRig(strategy(), astral, ENV);
      const token = rig.sm.startRotation();
      const error = await rig.run('createSecret', token).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'SecretFormatError', field: 'username' });
      expect(rig.sm.valueOf('AWSPENDING')).toBeUndefined();
    });

    it('refuses to act as admin when the current value cannot log in (confused deputy)', async () => {
      const { secret, username } = await seedApp();
      const rig = rotationRig(strategy(), secret, ENV);
      const token = rig.sm.startRotation();
      await rig.run('createSecret', token);
      await server.query("SET PASSWORD FOR ?@'%' = ?", [
        username,
        mysqlNativePasswordHash(randomPassword()),
      ]);
      await server.query("SET PASSWORD FOR ?@'127.0.0.1' = ?", [
        username,
        mysqlNativePasswordHash(randomPassword()),
      ]);
      await expect(rig.run('setSecret', token)).rejects.toBeInstanceOf(CredentialRejectedError);
      expect(
        await server.query('SELECT 1 FROM mysql.user WHERE User = ?', [`${username}_clone`]),
      ).toHaveLength(0);
    });

    it.each([
      ['mysql', 'USERNAME_CHARACTER_LIMIT default 16', `a${randomSuffix(10)}`, /16 characters/],
      [
        'mariadb',
        'the MariaDB limit of 80',
        `a${'b'.repeat(70)}${randomSuffix(8)}`,
        /80 characters/,
      ],
    ])(
      'fails createSecret with UsernameLengthError for engine %s (%s)',
      async (engine, _label, username, message) => {
        const secret = JSON.stringify({
          engine,
          host: server.host,
          port: server.port,
          username,
          password: randomPassword(),
          masterarn: admin.arn,
          ssl: false,
        });
        const rig = rotationRig(strategy(), secret, ENV);
        const error = await rig.rotate().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(UsernameLengthError);
        expect((error as Error).message).toMatch(message);
      },
    );
  },
);
