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

describe.skipIf(!support.available)(
  `MariaDB kept admin session (real server) ${support.reason}`,
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

    function request(current: string, pending: string, signal: AbortSignal): PendingRequest {
      return {
        secretId: 'arn:secret',
        token: 'token-1',
        step: 'setSecret',
        logger: silent,
        signal,
        current: async () => current,
        previous: async () => undefined,
        pending: async () => pending,
        registerSecret: () => {},
      };
    }

    it('a setSecret whose current login fails settles at once (and at the latest at its abort), even while the kept session still reads', async () => {
      const username = `app_${randomSuffix()}`;
      const password = randomPassword();
      await createMariadbAppUser(server, username, password);
      const keeper = new SessionKeeper();
      const strategy = new AlternatingUsersStrategy(mysqlDialects({}), {
        admins: {
          current: async () =>
            JSON.stringify({ username: server.admin.username, password: server.admin.password }),
        },
        keeper,
        adminSessionKeepMs: 60_000,
        connectTimeoutMs: 2_000,
      });
      const clone = `${username}_clone`;
      // A warm process: the first setSecret keeps the admin's session.
      await strategy.apply(
        request(
          secret({ username, password }),
          secret({ username: clone, password: randomPassword() }),
          new AbortController().signal,
        ),
      );
      expect(keeper.idleCount).toBe(1);

      // The server stalls reads of mysql.user (here a table lock; in production a network
      // that drops packets after the probe answered, or any slow read). The probe (SELECT 1)
      // still answers, so the kept session is lent and its early read starts, and blocks.
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
        // The current value is refused: the step must fail with CredentialRejectedError.
        const outcome = strategy
          .apply(
            request(
              secret({ username, password: randomPassword() }),
              secret({ username: clone, password: randomPassword() }),
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
  },
);
