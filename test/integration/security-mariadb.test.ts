import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseStrategyFromEnv } from '../../shared/strategies/database/mode.js';
import { mysqlDialects } from '../../shared/strategies/mysql/MysqlDialect.js';
import { mysqlNativePasswordHash } from '../../shared/strategies/mysql/nativePassword.js';
import { captureLogs } from '../helpers/captureLogs.js';
import { randomPassword, randomSuffix } from '../helpers/credentials.js';
import { adminSecretRig, rotationRig } from '../helpers/rotationRig.js';
import { MARIADB, type MariadbServer, startMariadb } from '../helpers/servers/mariadb.js';
import { serverSupport } from '../helpers/servers/support.js';

const support = serverSupport(MARIADB);
const ENV = { ROTATION_MODE: 'single-user' };

describe.skipIf(!support.available)(
  `MariaDB reporting a MySQL version string (real server) ${support.reason}`,
  () => {
    let server: MariadbServer;
    const logs = captureLogs();

    beforeAll(async () => {
      // MariaDB's `version` can be set at start-up to look like MySQL 8 (for applications
      // that check it); VERSION() then no longer says MariaDB.
      server = await startMariadb({ serverArgs: ['--version=8.0.36'] });
      await server.query('CREATE DATABASE appdb');
    });
    afterAll(async () => {
      await server?.stop();
    });

    /**
     * An application user at '%' with a random password, set from its native hash, and its
     * secret value (`extra` fields added).
     */
    async function appUser(username: string, extra: Record<string, unknown> = {}) {
      const password = randomPassword();
      await server.query("CREATE USER ?@'%' IDENTIFIED BY PASSWORD ?", [
        username,
        mysqlNativePasswordHash(password),
      ]);
      await server.query("GRANT SELECT ON appdb.* TO ?@'%'", [username]);
      const secret = JSON.stringify({
        engine: 'mysql',
        host: server.host,
        port: server.port,
        username,
        password,
        dbname: 'appdb',
        ssl: false,
        ...extra,
      });
      return { username, password, secret };
    }

    it('single-user rotation still sends the native hash, never the plaintext password', async () => {
      // Prepare
      const [row] = await server.query<{ version: string }>('SELECT VERSION() AS version');
      expect(row?.version).not.toMatch(/mariadb/i);
      const { username, password, secret } = await appUser(`app_${randomSuffix()}`);
      const rig = rotationRig(databaseStrategyFromEnv(mysqlDialects(ENV), ENV), secret, ENV);

      // Act
      await rig.rotate();

      // Assess
      const after = rig.current();
      expect(await server.canLogin(username, after.password as string)).toBe(true);
      const generalLog = await server.readGeneralLog();
      for (const secret of [password, after.password as string]) {
        expect(generalLog.includes(secret)).toBe(false);
      }
      logs.assertNoneContain([password, after.password as string]);
    });

    it('alternating-users rotation (the flavour read with the accounts) creates the clone from the hash, never the plaintext', async () => {
      const alternating = { ROTATION_MODE: 'alternating-users' };
      // MySQL's 16-character limit, with the _clone suffix.
      const admin = adminSecretRig(
        JSON.stringify({ username: server.admin.username, password: server.admin.password }),
      );
      const { username, password, secret } = await appUser(`u${randomSuffix().slice(0, 8)}`, {
        masterarn: admin.arn,
      });
      const rig = rotationRig(
        databaseStrategyFromEnv(mysqlDialects(alternating), alternating, { admins: admin.source }),
        secret,
        alternating,
      );

      await rig.rotate();
      await rig.rotate();

      const after = rig.current();
      expect(after.username).toBe(username);
      const clone = rig.previous() as { username: string; password: string };
      expect(clone.username).toBe(`${username}_clone`);
      expect(await server.canLogin(username, after.password as string)).toBe(true);
      expect(await server.canLogin(clone.username, clone.password)).toBe(true);
      const generalLog = await server.readGeneralLog();
      for (const secret of [password, after.password as string, clone.password]) {
        expect(generalLog.includes(secret)).toBe(false);
      }
    });
  },
);
