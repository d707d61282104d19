import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialRejectedError } from '../../shared/errors.js';
import { AlternatingUsersStrategy } from '../../shared/strategies/database/AlternatingUsersStrategy.js';
import { SessionKeeper } from '../../shared/strategies/database/keptSessions.js';
import { postgresDialects } from '../../shared/strategies/postgres/PostgresDialect.js';
import { scramSha256Verifier } from '../../shared/strategies/postgres/scram.js';
import { adminSessionsReused, captureLogs } from '../helpers/captureLogs.js';
import { randomPassword, randomSuffix } from '../helpers/credentials.js';
import { adminSecretRig, rotationRig } from '../helpers/rotationRig.js';
import { POSTGRES, type PostgresServer, startPostgres } from '../helpers/servers/postgres.js';
import { serverSupport } from '../helpers/servers/support.js';

const { escapeIdentifier: ident, escapeLiteral: literal } = pg;
const support = serverSupport(POSTGRES);
const ENV = { ROTATION_MODE: 'alternating-users' };

/**
 * A warm function's kept admin session on PostgreSQL, which keeps a session running
 * whatever happens to its role: the rotator must stop acting as an admin the database no
 * longer lets in, at its next setSecret.
 */
describe.skipIf(!support.available)(
  `PostgreSQL alternating users: the kept admin session ${support.reason}`,
  () => {
    let server: PostgresServer;
    const logs = captureLogs();
    beforeAll(async () => {
      server = await startPostgres();
    });
    afterAll(async () => {
      await server?.stop();
    });

    const reused = () => adminSessionsReused(logs);

    it.each([
      ['made NOLOGIN', 'NOLOGIN', 'LOGIN'],
      ['whose VALID UNTIL has passed', "VALID UNTIL '2001-01-01'", "VALID UNTIL 'infinity'"],
    ])(
      'does not reuse the session of an admin %s: the step fails as a refused admin login, and works again once it is undone',
      async (_label, revoke, restore) => {
        const adminName = `adm_${randomSuffix()}`;
        const adminPassword = randomPassword();
        await server.query(
          `CREATE ROLE ${ident(adminName)} LOGIN SUPERUSER PASSWORD ${literal(scramSha256Verifier(adminPassword))}`,
        );
        const admin = adminSecretRig(
          JSON.stringify({ username: adminName, password: adminPassword }),
        );
        const username = `app_${randomSuffix()}`;
        const password = randomPassword();
        await server.query(
          `CREATE ROLE ${ident(username)} LOGIN PASSWORD ${literal(scramSha256Verifier(password))}`,
        );
        const keeper = new SessionKeeper();
        const strategy = new AlternatingUsersStrategy(postgresDialects(), {
          admins: admin.source,
          keeper,
          adminSessionKeepMs: 60_000,
          connectTimeoutMs: 5_000,
        });
        const rig = rotationRig(
          strategy,
          JSON.stringify({
            engine: 'postgres',
            host: server.host,
            port: server.port,
            username,
            password,
            dbname: 'postgres',
            masterarn: admin.arn,
            ssl: 'false',
          }),
          ENV,
        );
        try {
          // The first creates the clone (its staged change failed: that session is not
          // kept); the second's session is kept, and the third reuses it.
          for (let i = 0; i < 3; i++) await rig.rotate();
          expect(reused()).toEqual([false, false, true]);
          const before = rig.current();
          await server.query(`ALTER ROLE ${ident(adminName)} ${revoke}`);
          const token = rig.sm.startRotation();
          await rig.run('createSecret', token);
          await expect(rig.run('setSecret', token)).rejects.toBeInstanceOf(CredentialRejectedError);
          expect(keeper.idleCount).toBe(0);
          // Nothing changed for the application.
          expect(rig.current()).toEqual(before);
          const previous = rig.previous() as Record<string, unknown>;
          for (const value of [before, previous]) {
            expect(await server.canLogin(value.username as string, value.password as string)).toBe(
              true,
            );
          }
          // Undone in the database: Secrets Manager's retry of the step goes through.
          await server.query(`ALTER ROLE ${ident(adminName)} ${restore}`);
          await rig.run('setSecret', token);
          await rig.run('testSecret', token);
          await rig.run('finishSecret', token);
          expect(reused().at(-1)).toBe(false);
        } finally {
          await keeper.closeAll();
        }
      },
      60_000,
    );
  },
);
