import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseConnectionError } from '../../shared/strategies/database/errors.js';
import { databaseStrategyFromEnv } from '../../shared/strategies/database/mode.js';
import { mysqlDialects } from '../../shared/strategies/mysql/MysqlDialect.js';
import { mysqlNativePasswordHash } from '../../shared/strategies/mysql/nativePassword.js';
import { captureLogs } from '../helpers/captureLogs.js';
import { randomPassword, randomSuffix } from '../helpers/credentials.js';
import { adminSecretRig, rotationRig } from '../helpers/rotationRig.js';
import { MARIADB, type MariadbServer, startMariadb } from '../helpers/servers/mariadb.js';
import { serverSupport } from '../helpers/servers/support.js';
import { selfSignedCertificate } from '../helpers/servers/tlsCertificate.js';

const support = serverSupport(MARIADB);

describe.skipIf(!support.available)(
  `MariaDB over TLS (real server, self-signed CA) ${support.reason}`,
  () => {
    let server: MariadbServer;
    let ca: string;
    const logs = captureLogs();

    beforeAll(async () => {
      const certificate = await selfSignedCertificate();
      ca = certificate.cert;
      server = await startMariadb({ tls: certificate });
    });
    afterAll(async () => {
      await server?.stop();
    });

    /** An account that may only log in over TLS (REQUIRE SSL). */
    async function seedTlsOnlyUser(): Promise<{ username: string; password: string }> {
      const username = `tls_${randomSuffix()}`;
      const password = randomPassword();
      await server.query("CREATE USER ?@'%' IDENTIFIED BY PASSWORD ? REQUIRE SSL", [
        username,
        mysqlNativePasswordHash(password),
      ]);
      await server.query("GRANT SELECT ON mysql.db TO ?@'%'", [username]);
      return { username, password };
    }

    it('alternating users over verify-full: the clone inherits REQUIRE SSL and logs in over TLS only', async () => {
      const admin = adminSecretRig(
        JSON.stringify({ username: server.admin.username, password: server.admin.password }),
      );
      const { username, password } = await seedTlsOnlyUser();
      const env = { ROTATION_MODE: 'alternating-users' };
      const secret = JSON.stringify({
        engine: 'mariadb',
        host: server.host,
        port: server.port,
        username,
        password,
        masterarn: admin.arn,
        sslMode: 'verify-full',
        sslCa: ca,
      });
      const rig = rotationRig(
        databaseStrategyFromEnv(mysqlDialects(env), env, { admins: admin.source }),
        secret,
        env,
      );
      await rig.rotate();
      const clone = rig.current();
      expect(clone.username).toBe(`${username}_clone`);
      const [row] = await server.query<{ ssl_type: string }>(
        "SELECT ssl_type FROM mysql.user WHERE User = ? AND Host = '%'",
        [clone.username],
      );
      expect(row?.ssl_type).toBe('ANY');
      expect(
        await server.canLogin(clone.username as string, clone.password as string, { ca }),
      ).toBe(true);
      // Plaintext is refused for the clone, exactly as for the original.
      expect(await server.canLogin(clone.username as string, clone.password as string)).toBe(false);
    });

    it('single user over verify-full rotates; without the CA it fails on the certificate instead of downgrading', async () => {
      const env = { ROTATION_MODE: 'single-user' };
      const strategy = () => databaseStrategyFromEnv(mysqlDialects(env), env);
      const user = await seedTlsOnlyUser();
      const base = { engine: 'mariadb', host: server.host, port: server.port, ...user };
      const rig = rotationRig(strategy(), JSON.stringify({ ...base, ssl: true, sslCa: ca }), env);
      await rig.rotate();
      expect(await server.canLogin(user.username, rig.current().password as string, { ca })).toBe(
        true,
      );

      const untrusted = rotationRig(
        strategy(),
        JSON.stringify({ ...base, password: rig.current().password, ssl: true }),
        env,
      );
      const token = untrusted.sm.startRotation();
      await untrusted.run('createSecret', token);
      const error = await untrusted.run('setSecret', token).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatabaseConnectionError);
      expect((error as Error).message).toMatch(/self.signed|certificate/i);
      logs.assertNoneContain([
        user.password,
        rig.current().password as string,
        server.admin.password,
      ]);
    });
  },
);
