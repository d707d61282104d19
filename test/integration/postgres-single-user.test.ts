import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PendingRequest, RotationStrategy } from '../../shared/engine/types.js';
import { CredentialRejectedError } from '../../shared/errors.js';
import { DatabaseConnectionError } from '../../shared/strategies/database/errors.js';
import { databaseStrategyFromEnv } from '../../shared/strategies/database/mode.js';
import { postgresKind } from '../../shared/strategies/postgres/kind.js';
import { postgresDialects } from '../../shared/strategies/postgres/PostgresDialect.js';
import { scramSha256Verifier } from '../../shared/strategies/postgres/scram.js';
import { captureLogs } from '../helpers/captureLogs.js';
import {
  hostilePassword,
  hostileUsername,
  randomPassword,
  randomSuffix,
} from '../helpers/credentials.js';
import { postgresDerivedSecrets } from '../helpers/derivedSecrets.js';
import { rotationRig, STEPS } from '../helpers/rotationRig.js';
import { POSTGRES, type PostgresServer, startPostgres } from '../helpers/servers/postgres.js';
import { serverSupport } from '../helpers/servers/support.js';
import { selfSignedCertificate } from '../helpers/servers/tlsCertificate.js';
import { describeStrategyConformance } from '../helpers/strategyConformance.js';

const { escapeIdentifier: ident, escapeLiteral: literal } = pg;
const support = serverSupport(POSTGRES);
const ENV = { ROTATION_MODE: 'single-user' };

describe.skipIf(!support.available)(
  `PostgreSQL single-user rotation (real server) ${support.reason}`,
  () => {
    let server: PostgresServer;
    const logs = captureLogs();

    beforeAll(async () => {
      server = await startPostgres();
    });
    afterAll(async () => {
      await server?.stop();
    });

    /** Creates a login role (password set as a verifier, so the server log never sees it). */
    async function seedUser(
      username = `app_${randomSuffix()}`,
      password = randomPassword(),
      extra: Record<string, unknown> = {},
    ): Promise<string> {
      await server.query(
        `CREATE ROLE ${ident(username)} LOGIN PASSWORD ${literal(scramSha256Verifier(password))}`,
      );
      return JSON.stringify({
        engine: 'postgres',
        host: server.host,
        port: String(server.port),
        username,
        password,
        dbname: 'postgres',
        ssl: false,
        ...extra,
      });
    }

    const works = async (secretString: string) => {
      const s = JSON.parse(secretString) as { username: string; password: string };
      return server.canLogin(s.username, s.password);
    };
    const strategy = () => databaseStrategyFromEnv(postgresDialects(), ENV);

    describeStrategyConformance('postgres single-user', {
      createStrategy: strategy,
      seed: () => seedUser(),
      works,
      corrupt: (s) => JSON.stringify({ ...JSON.parse(s), password: randomPassword() }),
      kind: postgresKind,
      derivedSecrets: postgresDerivedSecrets((sql, params) => server.query(sql, params)),
      env: ENV,
    });

    it('rotates: the new AWSCURRENT logs in, the old password is refused, unknown fields are kept, no password reaches the server log', async () => {
      const initial = await seedUser(undefined, undefined, {
        custom: { keep: 'me' },
        port: server.port,
      });
      const rig = rotationRig(strategy(), initial, ENV);
      const before = rig.current();
      await rig.rotate();
      const after = rig.current();
      expect(after.username).toBe(before.username);
      expect(after.password).not.toBe(before.password);
      expect(after.custom).toEqual({ keep: 'me' });
      expect(after.port).toBe(server.port);
      expect(await works(JSON.stringify(after))).toBe(true);
      expect(await server.canLogin(before.username as string, before.password as string)).toBe(
        false,
      );
      const serverLog = await server.readLog();
      expect(serverLog).toContain('ALTER ROLE');
      expect(serverLog).toContain('SCRAM-SHA-256$4096:');
      for (const password of [before.password, after.password] as string[]) {
        expect(serverLog.includes(password)).toBe(false);
      }
      logs.assertNoneContain([before.password as string, after.password as string]);
    });

    it('works with hostile usernames and passwords (quotes, backslashes, %, unicode, SQL keywords)', async () => {
      const username = hostileUsername();
      const password = hostilePassword();
      // Generated passwords may contain every punctuation character too.
      const env = { ...ENV, EXCLUDE_CHARACTERS: '', PASSWORD_LENGTH: '48' };
      const rig = rotationRig(
        databaseStrategyFromEnv(postgresDialects(), env),
        await seedUser(username, password),
        env,
      );
      await rig.rotate();
      await rig.rotate();
      const current = rig.current();
      expect(current.username).toBe(username);
      expect(await server.canLogin(username, current.password as string)).toBe(true);
      expect(await server.canLogin(username, password)).toBe(false);
      const serverLog = await server.readLog();
      expect(serverLog.includes(password)).toBe(false);
      expect(serverLog.includes(current.password as string)).toBe(false);
      const roles = await server.query<{ rolname: string }>(
        'SELECT rolname FROM pg_roles WHERE rolname = $1',
        [username],
      );
      expect(roles).toHaveLength(1);
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
          if (crash) throw new Error('injected crash after ALTER ROLE');
        },
      };
      const rig = rotationRig(crashing, await seedUser(), ENV);
      const before = rig.current();
      const token = rig.sm.startRotation();
      await rig.run('createSecret', token);
      await expect(rig.run('setSecret', token)).rejects.toThrow(/injected crash/);
      // The database already has the pending password; AWSCURRENT still holds the old one.
      expect(await server.canLogin(before.username as string, before.password as string)).toBe(
        false,
      );
      crash = false;
      for (const step of STEPS) await rig.run(step, token);
      expect(rig.sm.versionWith('AWSCURRENT')).toBe(token);
      expect(await works(JSON.stringify(rig.current()))).toBe(true);
    });

    it('logs in with AWSPREVIOUS when current no longer works (crash after the change on an earlier attempt)', async () => {
      const rig = rotationRig(strategy(), await seedUser(), ENV);
      await rig.rotate();
      // Someone (a crashed, half-finished rotation) set the DB back to the AWSPREVIOUS password.
      const previous = rig.previous() as { username: string; password: string };
      await server.query(
        `ALTER ROLE ${ident(previous.username)} PASSWORD ${literal(scramSha256Verifier(previous.password))}`,
      );
      await rig.rotate();
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
      const error = await rig.run('setSecret', token).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CredentialRejectedError);
      expect((error as Error).message).toMatch(/previous, current or pending/);
    });

    it.each([
      ['sslMode "require"', { sslMode: 'require', ssl: undefined }],
      ['ssl true', { ssl: true }],
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
        expect((error as Error).message).toMatch(/does not support SSL/);
        const serverLog = await server.readLog();
        // log_connections: a plaintext fallback would have shown up as an authorization or a failure.
        expect(serverLog).toContain(`connection authorized: user=${server.admin.username}`);
        expect(serverLog).not.toContain(`user=${username}`);
        expect(serverLog).not.toContain(`failed for user "${username}"`);
      },
    );

    it.each([
      ['ASCII', 'pencil'],
      ['soft hyphen (mapped to nothing)', 'pen\u00ADcil'],
      ['no-break space (mapped to space)', 'pen\u00A0cil'],
      ['compatibility character (NFKC)', '\u2168pencil'],
      ['precomposed and combining letters', 'p\u00E9nc\u0065\u0301il密'],
      ['prohibited character (hashed raw)', 'pen\uE000cil'],
      ['bidi violation (hashed raw)', '\u05D0pencil'],
      ['ASCII control character (ASCII is never prepared)', 'pen\u0007cil'],
    ])(
      'computes the same SCRAM verifier as PostgreSQL for the same salt: %s',
      async (_label, password) => {
        const role = `scram_${randomSuffix()}`;
        // This one test hands PostgreSQL a plaintext on purpose, to learn its own verifier.
        await server.query(`CREATE ROLE ${ident(role)} LOGIN PASSWORD ${literal(password)}`);
        const [row] = await server.query<{ rolpassword: string }>(
          'SELECT rolpassword FROM pg_authid WHERE rolname = $1',
          [role],
        );
        const stored = row?.rolpassword as string;
        const match = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(stored);
        expect(match).not.toBeNull();
        const ours = scramSha256Verifier(password, {
          iterations: Number(match?.[1]),
          salt: Buffer.from(match?.[2] as string, 'base64'),
        });
        expect(ours).toBe(stored);
      },
    );

    describe('against a TLS server with a self-signed certificate', () => {
      let tlsServer: PostgresServer;
      let ca: string;
      beforeAll(async () => {
        const certificate = await selfSignedCertificate();
        ca = certificate.cert;
        tlsServer = await startPostgres({ tls: certificate });
      });
      afterAll(async () => {
        await tlsServer?.stop();
      });

      async function seedTlsUser(extra: Record<string, unknown>): Promise<Record<string, unknown>> {
        const username = `tls_${randomSuffix()}`;
        const password = randomPassword();
        await tlsServer.query(
          `CREATE ROLE ${ident(username)} LOGIN PASSWORD ${literal(scramSha256Verifier(password))}`,
        );
        return {
          engine: 'postgres',
          host: tlsServer.host,
          port: tlsServer.port,
          username,
          password,
          ...extra,
        };
      }

      it('verify-full with the CA in sslCa rotates over TLS', async () => {
        const rig = rotationRig(
          strategy(),
          JSON.stringify(await seedTlsUser({ sslMode: 'verify-full', sslCa: ca })),
          ENV,
        );
        await rig.rotate();
        const current = rig.current();
        expect(
          await tlsServer.canLogin(current.username as string, current.password as string, {
            ssl: { ca, rejectUnauthorized: true },
          }),
        ).toBe(true);
      });

      it('verify-full without the CA fails on the certificate, not silently', async () => {
        const rig = rotationRig(
          strategy(),
          JSON.stringify(await seedTlsUser({ ssl: 'true' })),
          ENV,
        );
        const token = rig.sm.startRotation();
        await rig.run('createSecret', token);
        const error = await rig.run('setSecret', token).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(DatabaseConnectionError);
        expect((error as Error).message).toMatch(/self.signed|certificate/i);
      });
    });
  },
);
