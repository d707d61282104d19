import { Logger } from '@aws-lambda-powertools/logger';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PendingRequest } from '../../shared/engine/types.js';
import { CredentialRejectedError } from '../../shared/errors.js';
import { AlternatingUsersStrategy } from '../../shared/strategies/database/AlternatingUsersStrategy.js';
import { SessionKeeper } from '../../shared/strategies/database/keptSessions.js';
import { mysqlDialects } from '../../shared/strategies/mysql/MysqlDialect.js';
import { createMariadbAppUser } from '../helpers/appUsers.js';
import { randomPassword, randomSuffix } from '../helpers/credentials.js';
import { MARIADB, type MariadbServer, startMariadb } from '../helpers/servers/mariadb.js';
import { serverSupport } from '../helpers/servers/support.js';

const support = serverSupport(MARIADB);
const silent = new Logger({ logLevel: 'SILENT' });

/**
 * Alternating setSecret on MariaDB where the current login fails late, cold and with a kept
 * admin session. The confused-deputy check on MySQL/MariaDB: a handshake that succeeds is not enough, since
 * MariaDB completes it for logins that cannot run a statement (an expired password's
 * sandbox mode; an `init_connect` that ends the session). The admin acts only once a
 * statement has run on the current user's session.
 */
describe.skipIf(!support.available)(
  `MariaDB alternating users: the admin acts only for a current login that works ${support.reason}`,
  () => {
    let server: MariadbServer;
    beforeAll(async () => {
      server = await startMariadb();
      await server.query('CREATE DATABASE appdb');
      await server.query('CREATE TABLE appdb.t (id int)');
    });
    afterAll(async () => {
      await server?.stop();
    });

    const secret = (fields: Record<string, unknown>) =>
      JSON.stringify({
        engine: 'mariadb',
        host: server.host,
        port: server.port,
        dbname: 'appdb',
        ssl: false,
        masterarn: 'arn:admin',
        ...fields,
      });

    const request = (
      current: string,
      pending: string,
      signal = new AbortController().signal,
    ): PendingRequest => ({
      secretId: 'arn:secret',
      token: 'token-1',
      step: 'setSecret',
      logger: silent,
      signal,
      current: async () => current,
      previous: async () => undefined,
      pending: async () => pending,
      registerSecret: () => {},
    });

    const strategy = (keeper: SessionKeeper) =>
      new AlternatingUsersStrategy(mysqlDialects({}), {
        admins: {
          current: async () =>
            JSON.stringify({ username: server.admin.username, password: server.admin.password }),
        },
        keeper,
        adminSessionKeepMs: 60_000,
        connectTimeoutMs: 2_000,
      });

    /** Whether a login works; any refusal (1045, or 1698 for no such account) is false. */
    const loginWorks = (username: string, password: string) =>
      server.canLogin(username, password).catch(() => false);

    /** setSecret for `username`: what it ended with, and whether the clone then logs in. */
    async function rotate(s: AlternatingUsersStrategy, username: string, password: string) {
      const clonePassword = randomPassword();
      const outcome = await s
        .apply(
          request(
            secret({ username, password }),
            secret({ username: `${username}_clone`, password: clonePassword }),
          ),
        )
        .then(
          () => 'admin acted',
          (error: unknown) => (error as Error).name,
        );
      return { outcome, cloneWorks: await loginWorks(`${username}_clone`, clonePassword) };
    }

    it.each([
      ['cold', false],
      ['with a kept admin session', true],
    ])(
      'refuses a current user whose password has expired (sandbox mode: the handshake succeeds, no statement runs), %s',
      async (_label, warm) => {
        const keeper = new SessionKeeper();
        const s = strategy(keeper);
        try {
          if (warm) {
            const other = `app_${randomSuffix()}`;
            const otherPassword = randomPassword();
            await createMariadbAppUser(server, other, otherPassword);
            expect((await rotate(s, other, otherPassword)).outcome).toBe('admin acted');
            expect(keeper.idleCount).toBe(1);
          }
          const username = `app_${randomSuffix()}`;
          const password = randomPassword();
          await createMariadbAppUser(server, username, password);
          for (const host of ['%', '127.0.0.1']) {
            await server.query('ALTER USER ?@? PASSWORD EXPIRE', [username, host]);
          }
          const result = await rotate(s, username, password);
          expect(result.outcome).not.toBe('admin acted');
          expect(result.cloneWorks).toBe(false);
          const [clone] = await server.query<{ n: number }>(
            'SELECT COUNT(*) AS n FROM mysql.user WHERE User = ?',
            [`${username}_clone`],
          );
          expect(Number(clone?.n)).toBe(0);
        } finally {
          await keeper.closeAll();
        }
      },
      60_000,
    );

    it('a setSecret whose current login fails settles at once, even while the kept session still reads', async () => {
      const username = `app_${randomSuffix()}`;
      const password = randomPassword();
      await createMariadbAppUser(server, username, password);
      const keeper = new SessionKeeper();
      const s = strategy(keeper);
      // A warm process: the first setSecret keeps the admin's session.
      expect((await rotate(s, username, password)).outcome).toBe('admin acted');
      expect(keeper.idleCount).toBe(1);
      // The server stalls reads of mysql.user (here a table lock; in production a network
      // that drops packets after the probe answered, or any slow read). The probe still
      // answers, so the kept session is lent and its early read starts, and blocks.
      const locker = await mysql.createConnection({
        host: server.host,
        port: server.port,
        user: server.admin.username,
        password: server.admin.password,
      });
      await locker.query('LOCK TABLES mysql.global_priv WRITE');
      const step = new AbortController();
      const abortAt = setTimeout(() => step.abort(), 1_000);
      try {
        // The current value is refused: the step fails with CredentialRejectedError.
        const outcome = s
          .apply(
            request(
              secret({ username, password: randomPassword() }),
              secret({ username: `${username}_clone`, password: randomPassword() }),
              step.signal,
            ),
          )
          .then(
            () => 'resolved',
            (error: unknown) => error,
          );
        const settled = await Promise.race([
          outcome,
          new Promise((resolve) =>
            setTimeout(() => resolve('still running 3 s after abort'), 4_000),
          ),
        ]);
        expect(settled).toBeInstanceOf(CredentialRejectedError);
      } finally {
        clearTimeout(abortAt);
        await locker.query('UNLOCK TABLES');
        await locker.end();
        await keeper.closeAll();
      }
    }, 30_000);

    it('refuses a current login the server ends right after authentication (init_connect fails)', async () => {
      const username = `app_${randomSuffix()}`;
      const password = randomPassword();
      await createMariadbAppUser(server, username, password);
      const keeper = new SessionKeeper();
      // A DBA's kill switch: every connection without SUPER is ended after authentication.
      await server.query("SET GLOBAL init_connect = 'DO no_such_function()'");
      let result: { outcome: string; cloneWorks: boolean };
      try {
        result = await rotate(strategy(keeper), username, password);
      } finally {
        await server.query("SET GLOBAL init_connect = ''");
        await keeper.closeAll();
      }
      expect(result.outcome).not.toBe('admin acted');
      expect(result.cloneWorks).toBe(false);
    }, 60_000);
  },
);
