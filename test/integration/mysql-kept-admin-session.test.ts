import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionKeeper } from '../../shared/strategies/database/keptSessions.js';
import { databaseStrategyFromEnv } from '../../shared/strategies/database/mode.js';
import { connectMysql } from '../../shared/strategies/mysql/connect.js';
import { MysqlDialect, mysqlDialects } from '../../shared/strategies/mysql/MysqlDialect.js';
import { createMariadbAppUser } from '../helpers/appUsers.js';
import { adminSessionsReused, captureLogs } from '../helpers/captureLogs.js';
import { countingConnector, emptyTally } from '../helpers/countingConnector.js';
import { randomPassword, randomSuffix } from '../helpers/credentials.js';
import { adminSecretRig, rotationRig } from '../helpers/rotationRig.js';
import { MARIADB, type MariadbServer, startMariadb } from '../helpers/servers/mariadb.js';
import { serverSupport } from '../helpers/servers/support.js';

const support = serverSupport(MARIADB);
const ENV = { ROTATION_MODE: 'alternating-users' };

/**
 * The admin's session kept by a warm function between setSecrets, on MariaDB: what it
 * saves, and that a kept session the server ended or a step abandoned never costs a
 * rotation.
 */
describe.skipIf(!support.available)(
  `MariaDB alternating users: the kept admin session ${support.reason}`,
  () => {
    let server: MariadbServer;
    const logs = captureLogs();
    beforeAll(async () => {
      server = await startMariadb();
      await server.query('CREATE DATABASE appdb');
      await server.query('CREATE TABLE appdb.t (id int)');
    });
    afterAll(async () => {
      await server?.stop();
    });

    it("reuses the admin's session: one login (the current user's), the privilege read proves the kept session alive; a session the server ended is replaced", async () => {
      const admin = adminSecretRig(
        JSON.stringify({ username: server.admin.username, password: server.admin.password }),
      );
      const username = `app_${randomSuffix()}`;
      const password = randomPassword();
      // Accounts at two hosts ('%' and 127.0.0.1).
      await createMariadbAppUser(server, username, password);
      const secret = JSON.stringify({
        engine: 'mariadb',
        host: server.host,
        port: server.port,
        username,
        password,
        dbname: 'appdb',
        masterarn: admin.arn,
        ssl: false,
      });
      let tally = emptyTally();
      const counted = databaseStrategyFromEnv(
        mysqlDialects(
          {},
          countingConnector(connectMysql, () => tally),
        ),
        ENV,
        { admins: admin.source },
      );
      const rig = rotationRig(counted, secret, ENV);
      const reused = () => adminSessionsReused(logs);
      // The first creates the clone; its admin session is kept, and the second reuses it.
      await rig.rotate();
      await rig.rotate();
      expect(reused()).toEqual([false, true]);
      const token = rig.sm.startRotation();
      await rig.run('createSecret', token);
      tally = emptyTally();
      await rig.run('setSecret', token);
      expect(reused().at(-1)).toBe(true);
      // The current user's SELECT 1; as admin, the accounts, SHOW GRANTS for each of the
      // four accounts and the password at both hosts: no probe of the kept session first.
      expect(tally).toMatchObject({ connects: 1, refused: 0, statements: 8 });
      for (const step of ['testSecret', 'finishSecret'] as const) await rig.run(step, token);
      // Ended by the server while the function was frozen: the read fails, a new login
      // takes its place, and the rotation does not notice.
      const sessions = await server.query<{ id: number }>(
        'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ? AND ID <> CONNECTION_ID()',
        [server.admin.username],
      );
      expect(sessions.length).toBeGreaterThanOrEqual(1);
      for (const { id } of sessions) await server.query(`KILL CONNECTION ${Number(id)}`);
      await rig.rotate();
      expect(reused().at(-1)).toBe(false);
      for (const value of [rig.current(), rig.previous() as Record<string, unknown>]) {
        expect(await server.canLogin(value.username as string, value.password as string)).toBe(
          true,
        );
      }
    }, 60_000);

    /** Statements of other sessions sleeping in `SELECT SLEEP(...)` now. */
    const sleepingQueries = async () => {
      const [row] = await server.query<{ n: number }>(
        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP%'",
      );
      return Number(row?.n);
    };

    async function until(condition: () => Promise<boolean>): Promise<void> {
      for (let tries = 0; !(await condition()); tries += 1) {
        if (tries > 100) throw new Error('condition not met within 5 s');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }

    it("a step's abort ends the close of an admin session still running a statement", async () => {
      const keeper = new SessionKeeper();
      const step = new AbortController();
      const dialect = new MysqlDialect({ label: 'MariaDB', maxUsernameLength: 80 });
      const adminTarget = {
        host: server.host,
        port: server.port,
        username: server.admin.username,
        password: server.admin.password,
        dbname: undefined,
        tls: { mode: 'disable' as const },
      };
      const lease = await keeper.open(
        dialect,
        adminTarget,
        { signal: step.signal, connectTimeoutMs: 2_000 },
        60_000,
      );
      // A statement left running (a slow server; a step that gave up on it): the close that
      // follows waits behind it until the step's abort ends it.
      const slow = lease.query('SELECT SLEEP(20)').catch(() => undefined);
      await until(async () => (await sleepingQueries()) > 0);
      const started = Date.now();
      const closed = lease.close().then(() => Date.now() - started);
      setTimeout(() => step.abort(), 500);
      const settled = await Promise.race([
        closed,
        new Promise<string>((resolve) => setTimeout(() => resolve('still closing'), 3_500)),
      ]);
      expect(settled).toBeTypeOf('number');
      expect(keeper.idleCount).toBe(0);
      await slow;
    }, 30_000);
  },
);
