import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialRejectedError } from '../../shared/errors.js';
import { AlternatingUsersStrategy } from '../../shared/strategies/database/AlternatingUsersStrategy.js';
import { DatabaseConnectionError } from '../../shared/strategies/database/errors.js';
import { SessionKeeper } from '../../shared/strategies/database/keptSessions.js';
import { connectPostgres } from '../../shared/strategies/postgres/connect.js';
import {
  PostgresDialect,
  postgresDialects,
} from '../../shared/strategies/postgres/PostgresDialect.js';
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

    it('does not reuse the session of an admin no longer a member of the default role it runs as', async () => {
      // The group holds the power (SUPERUSER); the admin itself has none.
      const { adminName, adminPassword, keeper, rig } = await setup('NOLOGIN', 'NOSUPERUSER');
      try {
        await warmUp(rig);
        const [group] = await server.query<{ name: string }>(
          'SELECT rolname AS name FROM pg_roles WHERE oid IN (SELECT roleid FROM pg_auth_members m JOIN pg_roles a ON a.oid = m.member WHERE a.rolname = $1)',
          [adminName],
        );
        await server.query(`REVOKE ${ident(group?.name as string)} FROM ${ident(adminName)}`);
        // A new login of the admin now runs as itself, without the group's power...
        const fresh = new pg.Client({
          host: server.host,
          port: server.port,
          user: adminName,
          password: adminPassword,
          database: 'postgres',
        });
        fresh.on('notice', () => {});
        await fresh.connect();
        const { rows } = await fresh.query(
          "SELECT current_user::text AS role, current_setting('is_superuser') AS superuser",
        );
        await fresh.end();
        expect(rows[0]).toEqual({ role: adminName, superuser: 'off' });
        // ...so the kept session, still running as the group, must not act either.
        const before = rig.current();
        const token = rig.sm.startRotation();
        await rig.run('createSecret', token);
        await expect(rig.run('setSecret', token)).rejects.toThrow();
        expect(keeper.idleCount).toBe(0);
        expect(rig.current()).toEqual(before);
        expect(await server.canLogin(before.username as string, before.password as string)).toBe(
          true,
        );
      } finally {
        await keeper.closeAll();
      }
    }, 60_000);

    it('does not reuse the session of an admin (CREATEROLE) given CONNECTION LIMIT 0', async () => {
      const { adminName, adminPassword, keeper, rig } = await setup(undefined, 'CREATEROLE');
      try {
        await warmUp(rig);
        await server.query(`ALTER ROLE ${ident(adminName)} CONNECTION LIMIT 0`);
        await expect(server.canLogin(adminName, adminPassword)).rejects.toMatchObject({
          code: '53300',
        });
        await expectAdminRefused(rig, keeper, DatabaseConnectionError);
      } finally {
        await server.query(`ALTER ROLE ${ident(adminName)} CONNECTION LIMIT -1`);
        await keeper.closeAll();
      }
    }, 60_000);

    it('still reuses the session of an admin (CREATEROLE) whose CONNECT comes through a group, not PUBLIC', async () => {
      const { adminName, keeper, rig } = await setup(undefined, 'CREATEROLE');
      const connectors = `conn_${randomSuffix()}`;
      try {
        await warmUp(rig);
        await server.query(`CREATE ROLE ${ident(connectors)} NOLOGIN`);
        await server.query(`GRANT CONNECT ON DATABASE postgres TO ${ident(connectors)}`);
        await server.query(`GRANT ${ident(connectors)} TO ${ident(adminName)}`);
        const base = (rig.current().username as string).replace(/_clone$/, '');
        await server.query(
          `GRANT CONNECT ON DATABASE postgres TO ${ident(base)}, ${ident(`${base}_clone`)}, ${ident(server.admin.username)}`,
        );
        await server.query('REVOKE CONNECT ON DATABASE postgres FROM PUBLIC');
        await rig.rotate();
        expect(reused().at(-1)).toBe(true);
      } finally {
        await server.query('GRANT CONNECT ON DATABASE postgres TO PUBLIC');
        await keeper.closeAll();
      }
    }, 60_000);

    it("cannot be fooled by the admin's search_path: functions and operators that shadow the catalog's", async () => {
      const adminName = `adm_${randomSuffix()}`;
      const adminPassword = randomPassword();
      await server.query(
        `CREATE ROLE ${ident(adminName)} LOGIN SUPERUSER PASSWORD ${literal(scramSha256Verifier(adminPassword))}`,
      );
      const evil = `evil_${randomSuffix()}`;
      await server.query(`CREATE SCHEMA ${evil}`);
      await server.query(
        `CREATE FUNCTION ${evil}.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT '-infinity'::timestamptz $$`,
      );
      await server.query(
        `CREATE FUNCTION ${evil}.yes(name, name) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$`,
      );
      await server.query(
        `CREATE FUNCTION ${evil}.yes2(name, text) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$`,
      );
      await server.query(
        `CREATE OPERATOR ${evil}.= (LEFTARG = name, RIGHTARG = name, FUNCTION = ${evil}.yes)`,
      );
      await server.query(
        `CREATE OPERATOR ${evil}.= (LEFTARG = name, RIGHTARG = text, FUNCTION = ${evil}.yes2)`,
      );
      await server.query(`ALTER ROLE ${ident(adminName)} SET search_path = ${evil}, pg_catalog`);
      const target = {
        host: server.host,
        port: server.port,
        username: adminName,
        password: adminPassword,
        dbname: 'postgres',
        tls: { mode: 'disable' as const },
      };
      const session = await connectPostgres(target, {
        signal: new AbortController().signal,
        connectTimeoutMs: 5_000,
      });
      const dialect = new PostgresDialect();
      try {
        await dialect.probeKept(session, target);
        await expect(
          dialect.probeKept(session, { ...target, username: `${adminName}x` }),
        ).rejects.toThrow();
        await server.query(`ALTER ROLE ${ident(adminName)} VALID UNTIL '2001-01-01'`);
        await expect(dialect.probeKept(session, target)).rejects.toThrow();
        await server.query(`ALTER ROLE ${ident(adminName)} VALID UNTIL 'infinity' NOLOGIN`);
        await expect(dialect.probeKept(session, target)).rejects.toThrow();
      } finally {
        await session.close();
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
