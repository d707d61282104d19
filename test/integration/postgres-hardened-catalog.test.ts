/**
 * Alternating setSecret on a PostgreSQL whose catalogs ordinary users may not all read: the
 * privilege read on the current user's session is refused and made again on the admin's,
 * where the staged password change may already have opened (or aborted) a transaction.
 * Both cases were found in review of the staged change; both failed before the fix.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connector } from '../../shared/strategies/database/driver.js';
import { databaseStrategyFromEnv } from '../../shared/strategies/database/mode.js';
import { connectPostgres } from '../../shared/strategies/postgres/connect.js';
import { postgresDialects } from '../../shared/strategies/postgres/PostgresDialect.js';
import { scramSha256Verifier } from '../../shared/strategies/postgres/scram.js';
import { randomPassword, randomSuffix } from '../helpers/credentials.js';
import { type AdminSecretRig, adminSecretRig, rotationRig } from '../helpers/rotationRig.js';
import { POSTGRES, type PostgresServer, startPostgres } from '../helpers/servers/postgres.js';
import { serverSupport } from '../helpers/servers/support.js';

const { escapeIdentifier: ident, escapeLiteral: literal } = pg;
const support = serverSupport(POSTGRES);
const ENV = { ROTATION_MODE: 'alternating-users' };

describe.skipIf(!support.available)(
  `PostgreSQL alternating-users with a hardened catalog (real server) ${support.reason}`,
  () => {
    let server: PostgresServer;
    let admin: AdminSecretRig;

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
      // A hardened catalog: ordinary users may not read default privileges, so the privilege
      // read on the current user's session is refused and made again on the admin's session
      // (the fallback beginPrivilegeRead documents and a unit test covers).
      await server.query('REVOKE SELECT ON pg_catalog.pg_default_acl FROM PUBLIC');
    });
    afterAll(async () => {
      await server?.stop();
    });

    /** Records, per admin session, each statement (abridged) and how it ended. */
    function recording(log: string[]) {
      const connector: Connector = async (target, options) => {
        const session = await connectPostgres(target, options);
        if (target.username !== server.admin.username) return session;
        return {
          async query<Row>(sql: string, params?: readonly unknown[]): Promise<Row[]> {
            const head = sql.replace(/\s+/g, ' ').slice(0, 60);
            try {
              const rows = await session.query<Row>(sql, params);
              log.push(`ok   ${head}`);
              return rows;
            } catch (error) {
              const cause = (error as { cause?: { message?: string } }).cause;
              log.push(`FAIL ${head} -> ${cause?.message ?? String(error)}`);
              throw error;
            }
          },
          close: () => session.close(),
        };
      };
      return connector;
    }

    async function seed() {
      const username = `app_${randomSuffix()}`;
      const password = randomPassword();
      await server.query(
        `CREATE ROLE ${ident(username)} LOGIN PASSWORD ${literal(scramSha256Verifier(password))}`,
      );
      await server.query(`CREATE TABLE public.${ident(`t_${username}`)} (id int)`);
      await server.query(`GRANT SELECT ON public.${ident(`t_${username}`)} TO ${ident(username)}`);
      const secret = JSON.stringify({
        engine: 'postgres',
        host: server.host,
        port: server.port,
        username,
        password,
        dbname: 'postgres',
        masterarn: admin.arn,
        ssl: 'false',
      });
      return { username, password, secret };
    }

    it('first rotation (clone missing): setSecret creates the clone, though the fallback read meets a transaction the staged change aborted', async () => {
      const { secret, username } = await seed();
      const log: string[] = [];
      const strategy = databaseStrategyFromEnv(postgresDialects(recording(log)), ENV, {
        admins: admin.source,
      });
      const rig = rotationRig(strategy, secret, ENV);
      const token = rig.sm.startRotation();
      await rig.run('createSecret', token);
      await rig.run('setSecret', token);
      expect(log.some((line) => line.startsWith('FAIL BEGIN;'))).toBe(true);
      const exists = await server.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [
        `${username}_clone`,
      ]);
      expect(exists).toHaveLength(1);
    });

    it('a repair after a fallback read inside the rolled-back staged transaction still reads with the pinned search_path', async () => {
      const { secret, username } = await seed();
      // A clone that exists (an earlier rotation) but lacks a role setting of the current user.
      const clone = `${username}_clone`;
      await server.query(
        `CREATE ROLE ${ident(clone)} LOGIN PASSWORD ${literal(scramSha256Verifier(randomPassword()))}`,
      );
      await server.query(`GRANT ${ident(username)} TO ${ident(clone)}`);
      await server.query(`ALTER ROLE ${ident(username)} SET work_mem = '8MB'`);
      const paths: string[] = [];
      const log: string[] = [];
      // Before every admin privilege read, ask its session what search_path it will run with.
      const connector: Connector = async (target, options) => {
        const session = await recording(log)(target, options);
        if (target.username !== server.admin.username) return session;
        return {
          async query(sql, params) {
            if (sql.includes(' AS memberships') && !sql.startsWith('SET search_path')) {
              const [row] = await session.query<{ search_path: string }>('SHOW search_path');
              paths.push(row?.search_path ?? '?');
            }
            return session.query(sql, params);
          },
          close: () => session.close(),
        };
      };
      const strategy = databaseStrategyFromEnv(postgresDialects(connector), ENV, {
        admins: admin.source,
      });
      const rig = rotationRig(strategy, secret, ENV);
      const token = rig.sm.startRotation();
      await rig.run('createSecret', token);
      await rig.run('setSecret', token);
      expect(paths.length).toBeGreaterThan(0);
      for (const path of paths) expect(path).toBe('pg_catalog, pg_temp');
    });
  },
);
