import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PendingRequest, RotationStrategy } from '../../shared/engine/types.js';
import { CredentialRejectedError } from '../../shared/errors.js';
import { DatabaseConnectionError } from '../../shared/strategies/database/errors.js';
import { databaseStrategyFromEnv } from '../../shared/strategies/database/mode.js';
import { connectMysql } from '../../shared/strategies/mysql/connect.js';
import { mysqlKind } from '../../shared/strategies/mysql/kind.js';
import { mysqlDialects } from '../../shared/strategies/mysql/MysqlDialect.js';
import { mysqlNativePasswordHash } from '../../shared/strategies/mysql/nativePassword.js';
import { captureLogs } from '../helpers/captureLogs.js';
import {
  hostilePassword,
  hostileUsername,
  randomPassword,
  randomSuffix,
} from '../helpers/credentials.js';
import { mariadbDerivedSecrets } from '../helpers/derivedSecrets.js';
import { rotationRig, STEPS } from '../helpers/rotationRig.js';
import { MARIADB, type MariadbServer, startMariadb } from '../helpers/servers/mariadb.js';
import { serverSupport } from '../helpers/servers/support.js';
import { describeStrategyConformance } from '../helpers/strategyConformance.js';

const support = serverSupport(MARIADB);
const ENV = { ROTATION_MODE: 'single-user' };

describe.skipIf(!support.available)(
  `MariaDB single-user rotation (real server) ${support.reason}`,
  () => {
    let server: MariadbServer;
    const logs = captureLogs();

    beforeAll(async () => {
      server = await startMariadb();
      await server.query('CREATE DATABASE appdb');
    });
    afterAll(async () => {
      await server?.stop();
    });

    /** Creates an account from the password's hash, so the general log never sees it. */
    async function seedUser(
      username = `app_${randomSuffix()}`,
      password = randomPassword(),
      extra: Record<string, unknown> = {},
    ): Promise<string> {
      await server.query("CREATE USER ?@'%' IDENTIFIED BY PASSWORD ?", [
        username,
        mysqlNativePasswordHash(password),
      ]);
      await server.query("GRANT SELECT ON appdb.* TO ?@'%'", [username]);
      return JSON.stringify({
        engine: 'mariadb',
        host: server.host,
        port: String(server.port),
        username,
        password,
        dbname: 'appdb',
        ssl: false,
        ...extra,
      });
    }
    const works = async (secretString: string) => {
      const s = JSON.parse(secretString) as { username: string; password: string };
      return server.canLogin(s.username, s.password);
    };
    const strategy = () => databaseStrategyFromEnv(mysqlDialects(ENV), ENV);

    describeStrategyConformance('mariadb single-user', {
      createStrategy: strategy,
      seed: () => seedUser(),
      works,
      corrupt: (s) => JSON.stringify({ ...JSON.parse(s), password: randomPassword() }),
      kind: mysqlKind,
      derivedSecrets: mariadbDerivedSecrets((sql, params) => server.query(sql, params)),
      env: ENV,
    });

    it('rotates: the new AWSCURRENT logs in, the old password is refused, no password reaches the general log', async () => {
      const rig = rotationRig(
        strategy(),
        await seedUser(undefined, undefined, { custom: [1, 2] }),
        ENV,
      );
      const before = rig.current();
      await rig.rotate();
      const after = rig.current();
      expect(after.username).toBe(before.username);
      expect(after.custom).toEqual([1, 2]);
      expect(await works(JSON.stringify(after))).toBe(true);
      expect(await server.canLogin(before.username as string, before.password as string)).toBe(
        false,
      );
      const generalLog = await server.readGeneralLog();
      expect(generalLog).toContain(
        `SET PASSWORD = '${mysqlNativePasswordHash(after.password as string)}'`,
      );
      for (const password of [before.password, after.password] as string[])
        expect(generalLog.includes(password)).toBe(false);
      logs.assertNoneContain([before.password as string, after.password as string]);
    });

    it('works with hostile usernames and passwords (quotes, backslashes, %, unicode, SQL keywords)', async () => {
      const username = hostileUsername();
      const password = hostilePassword();
      const env = { ...ENV, EXCLUDE_CHARACTERS: '', PASSWORD_LENGTH: '48' };
      const rig = rotationRig(
        databaseStrategyFromEnv(mysqlDialects(env), env),
        await seedUser(username, password),
        env,
      );
      await rig.rotate();
      await rig.rotate();
      const current = rig.current();
      expect(current.username).toBe(username);
      expect(await server.canLogin(username, current.password as string)).toBe(true);
      expect(await server.canLogin(username, password)).toBe(false);
      const generalLog = await server.readGeneralLog();
      expect(generalLog.includes(current.password as string)).toBe(false);
      expect(
        await server.query('SELECT User FROM mysql.user WHERE User = ?', [username]),
      ).toHaveLength(1);
    });

    it('a crash after the password change but before finishSecret, then a retry of every step, ends in a working rotation', async () => {
      const real = strategy();
      let crash = true;
      const crashing: RotationStrategy = {
        name: real.name,
        generatePending: (r) => real.generatePending(r),
        verify: (r) => real.verify(r),
        async apply(request: PendingRequest) {
          await real.apply(request);
          if (crash) throw new Error('injected crash after SET PASSWORD');
        },
      };
      const rig = rotationRig(crashing, await seedUser(), ENV);
      const before = rig.current();
      const token = rig.sm.startRotation();
      await rig.run('createSecret', token);
      await expect(rig.run('setSecret', token)).rejects.toThrow(/injected crash/);
      expect(await server.canLogin(before.username as string, before.password as string)).toBe(
        false,
      );
      crash = false;
      for (const step of STEPS) await rig.run(step, token);
      expect(rig.sm.versionWith('AWSCURRENT')).toBe(token);
      expect(await works(JSON.stringify(rig.current()))).toBe(true);
    });

    it('fails setSecret with a typed error when no value can log in', async () => {
      const initial = JSON.parse(await seedUser()) as Record<string, unknown>;
      const rig = rotationRig(
        strategy(),
        JSON.stringify({ ...initial, password: randomPassword() }),
        ENV,
      );
      const token = rig.sm.startRotation();
      await rig.run('createSecret', token);
      await expect(rig.run('setSecret', token)).rejects.toBeInstanceOf(CredentialRejectedError);
    });

    it("clears NO_BACKSLASH_ESCAPES before a session's first statement, and a session that only logs in sends none", async () => {
      const target = {
        host: server.host,
        port: server.port,
        username: server.admin.username,
        password: server.admin.password,
        dbname: undefined,
        tls: { mode: 'disable' as const },
      };
      const options = { signal: new AbortController().signal, connectTimeoutMs: 5_000 };
      const setStatements = async () => {
        const [row] = await server.query<{ Value: string }>(
          "SHOW GLOBAL STATUS LIKE 'Com_set_option'",
        );
        return Number(row?.Value);
      };
      const [global] = await server.query<{ mode: string }>('SELECT @@GLOBAL.sql_mode AS mode');
      await server.query("SET GLOBAL sql_mode = 'NO_BACKSLASH_ESCAPES,STRICT_TRANS_TABLES'");
      try {
        const before = await setStatements();
        const loginOnly = await connectMysql(target, options);
        await loginOnly.close();
        expect(await setStatements()).toBe(before);
        const session = await connectMysql(target, options);
        try {
          const [row] = await session.query<{ mode: string; value: string }>(
            'SELECT @@SESSION.sql_mode AS mode, ? AS value',
            ["a\\'b"],
          );
          expect(row?.mode.split(',')).toContain('STRICT_TRANS_TABLES');
          expect(row?.mode.split(',')).not.toContain('NO_BACKSLASH_ESCAPES');
          // mysql2's backslash escaping reads back as written only without the mode.
          expect(row?.value).toBe("a\\'b");
        } finally {
          await session.close();
        }
      } finally {
        await server.query('SET GLOBAL sql_mode = ?', [global?.mode ?? '']);
      }
    });

    it.each([
      ['sslMode "require"', { sslMode: 'require', ssl: undefined }],
      ['ssl "true"', { ssl: 'true' }],
      ['no TLS field (default verify-full)', { ssl: undefined }],
    ])(
      'TLS asked for (%s) against a server without TLS fails with the reason and never falls back to plaintext',
      async (_label, tls) => {
        const username = `tls_${randomSuffix()}`;
        const initial = {
          ...(JSON.parse(await seedUser(username)) as Record<string, unknown>),
          ...tls,
        };
        const rig = rotationRig(strategy(), JSON.stringify(initial), ENV);
        const token = rig.sm.startRotation();
        await rig.run('createSecret', token);
        const error = await rig.run('setSecret', token).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(DatabaseConnectionError);
        expect((error as Error).message).toMatch(/does not support secure connection/i);
        // The general log records every login ("Connect user@host"); a plaintext fallback would.
        const generalLog = await server.readGeneralLog();
        expect(generalLog).toMatch(new RegExp(`Connect\\s+${server.admin.username}@`));
        expect(generalLog).not.toMatch(new RegExp(`Connect\\s+${username}@`));
      },
    );
  },
);
