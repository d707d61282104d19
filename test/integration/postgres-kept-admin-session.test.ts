import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialRejectedError } from '../../shared/errors.js';
import { AlternatingUsersStrategy } from '../../shared/strategies/database/AlternatingUsersStrategy.js';
import { DatabaseConnectionError } from '../../shared/strategies/database/errors.js';
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

    /**
     * A superuser admin of its own (optionally running as a default role, `ALTER ROLE … SET
     * role`), an application user, and a warm function's strategy with its own keeper.
     */
    async function setup(defaultRole?: 'LOGIN' | 'NOLOGIN', power = 'SUPERUSER') {
      const adminName = `adm_${randomSuffix()}`;
      const adminPassword = randomPassword();
      await server.query(
        `CREATE ROLE ${ident(adminName)} LOGIN ${power} PASSWORD ${literal(scramSha256Verifier(adminPassword))}`,
      );
      if (defaultRole) {
        const group = `grp_${randomSuffix()}`;
        await server.query(`CREATE ROLE ${ident(group)} ${defaultRole} SUPERUSER`);
        await server.query(`GRANT ${ident(group)} TO ${ident(adminName)}`);
        await server.query(`ALTER ROLE ${ident(adminName)} SET role = ${ident(group)}`);
      }
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
      return { adminName, adminPassword, keeper, rig };
    }

    /** Rotations until the third reuses a kept session (the first's staged change failed: not kept). */
    async function warmUp(rig: ReturnType<typeof rotationRig>) {
      for (let i = 0; i < 3; i++) await rig.rotate();
      expect(reused().slice(-3)).toEqual([false, false, true]);
    }

    /** setSecret of a new rotation fails as a refused admin login; nothing changed for the application. */
    async function expectAdminRefused(
      rig: ReturnType<typeof rotationRig>,
      keeper: SessionKeeper,
      refusal: new (...args: never[]) => Error = CredentialRejectedError,
    ) {
      const before = rig.current();
      const token = rig.sm.startRotation();
      await rig.run('createSecret', token);
      await expect(rig.run('setSecret', token)).rejects.toBeInstanceOf(refusal);
      expect(keeper.idleCount).toBe(0);
      expect(rig.current()).toEqual(before);
      for (const value of [before, rig.previous() as Record<string, unknown>]) {
        expect(await server.canLogin(value.username as string, value.password as string)).toBe(
          true,
        );
      }
      return token;
    }

    it.each([
      ['made NOLOGIN', 'NOLOGIN', 'LOGIN', undefined],
      [
        'whose VALID UNTIL has passed',
        "VALID UNTIL '2001-01-01'",
        "VALID UNTIL 'infinity'",
        undefined,
      ],
      // The probe checks the role that logged in, not the one it runs as.
      ['made NOLOGIN, running as a default role that may log in', 'NOLOGIN', 'LOGIN', 'LOGIN'],
    ] as const)(
      'does not reuse the session of an admin %s: the step fails as a refused admin login, and works again once it is undone',
      async (_label, revoke, restore, defaultRole) => {
        const { adminName, adminPassword, keeper, rig } = await setup(defaultRole);
        try {
          await warmUp(rig);
          await server.query(`ALTER ROLE ${ident(adminName)} ${revoke}`);
          expect(await server.canLogin(adminName, adminPassword)).toBe(false);
          const token = await expectAdminRefused(rig, keeper);
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

    it.each([
      [
        'renamed (its login name is refused)',
        (name: string) => `ALTER ROLE ${ident(name)} RENAME TO ${ident(`${name}_x`)}`,
      ],
      ['dropped', (name: string) => `DROP ROLE ${ident(name)}`],
    ])(
      'does not reuse the session of an admin %s',
      async (_label, lockOut) => {
        const { adminName, adminPassword, keeper, rig } = await setup();
        try {
          await warmUp(rig);
          await server.query(lockOut(adminName));
          expect(await server.canLogin(adminName, adminPassword)).toBe(false);
          await expectAdminRefused(rig, keeper);
        } finally {
          await keeper.closeAll();
        }
      },
      60_000,
    );

    it('does not reuse the session of an admin (CREATEROLE, not superuser) whose CONNECT on the database was revoked', async () => {
      const { adminName, adminPassword, keeper, rig } = await setup(undefined, 'CREATEROLE');
      const current = rig.current().username as string;
      try {
        await warmUp(rig);
        const users = [
          current,
          current.replace(/_clone$/, ''),
          `${current.replace(/_clone$/, '')}_clone`,
        ];
        await server.query(
          `GRANT CONNECT ON DATABASE postgres TO ${[...new Set(users), server.admin.username].map((u) => ident(u)).join(', ')}`,
        );
        await server.query('REVOKE CONNECT ON DATABASE postgres FROM PUBLIC');
        // A new admin login is refused now (permission denied for database).
        await expect(server.canLogin(adminName, adminPassword)).rejects.toMatchObject({
          code: '42501',
        });
        // Not a refused password (28P01): the admin's new login fails with 42501.
        await expectAdminRefused(rig, keeper, DatabaseConnectionError);
      } finally {
        await server.query('GRANT CONNECT ON DATABASE postgres TO PUBLIC');
        await keeper.closeAll();
      }
    }, 60_000);

    it('reuses the session of an admin running as a NOLOGIN group role (the usual default role)', async () => {
      const { keeper, rig } = await setup('NOLOGIN');
      try {
        await warmUp(rig);
        await rig.rotate();
        expect(reused().at(-1)).toBe(true);
      } finally {
        await keeper.closeAll();
      }
    }, 60_000);
  },
);
