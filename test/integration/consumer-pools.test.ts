import { inspect } from 'node:util';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import {
  DatabaseLoginError,
  type MysqlPoolOptions,
  type PgPoolOptions,
  RotatingMysqlPool,
  RotatingPgPool,
} from 'rotator/consumer';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { captureLogs } from '../helpers/captureLogs.js';
import { randomPassword, randomSuffix } from '../helpers/credentials.js';
import { uniqueName, useLocalSecretsManager } from '../helpers/localSecretsManager.js';
import { MARIADB, startMariadb } from '../helpers/servers/mariadb.js';
import { POSTGRES, startPostgres } from '../helpers/servers/postgres.js';
import { serverSupport } from '../helpers/servers/support.js';
import { type EngineRig, mariadbRig, postgresRig } from '../helpers/zeroDowntime.js';

/** Everything an error shows: message, stack, enumerable fields, the cause chain. */
function everythingOf(error: unknown): string {
  const parts: string[] = [];
  let node: unknown = error;
  for (let depth = 0; node !== undefined && node !== null && depth < 6; depth++) {
    parts.push(String(node), String((node as Error).stack), inspect(node, { depth: 6 }));
    try {
      parts.push(JSON.stringify(node));
    } catch {
      // circular: inspect above has it
    }
    node = (node as Error).cause;
  }
  return parts.join('\n');
}

interface Pool {
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
}

const engines: [
  string,
  ReturnType<typeof serverSupport>,
  () => Promise<{ rig: EngineRig; stop(): Promise<void> }>,
  (options: PgPoolOptions & MysqlPoolOptions) => Pool,
  string,
][] = [
  [
    'PostgreSQL',
    serverSupport(POSTGRES),
    async () => {
      const server = await startPostgres();
      return { rig: postgresRig(server), stop: () => server.stop() };
    },
    (options) => new RotatingPgPool(options),
    '42601',
  ],
  [
    'MariaDB',
    serverSupport(MARIADB),
    async () => {
      const server = await startMariadb();
      return { rig: await mariadbRig(server), stop: () => server.stop() };
    },
    (options) => new RotatingMysqlPool(options),
    'ER_PARSE_ERROR',
  ],
];

describe.each(engines)(
  'Consumer pool on %s (real server, local twin)',
  (label, support, start, createPool, syntaxErrorCode) => {
    describe.skipIf(!support.available)(support.reason, () => {
      let engine: { rig: EngineRig; stop(): Promise<void> };
      const startTwin = useLocalSecretsManager();
      const logs = captureLogs();
      const pools: Pool[] = [];
      const saved = process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;

      beforeAll(async () => {
        engine = await start();
      });
      afterEach(async () => {
        await Promise.all(pools.splice(0).map((pool) => pool.end()));
        if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
        else process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = saved;
      });
      afterAll(async () => {
        await engine?.stop();
      });

      /** A login on the server and a secret for it in a new twin; `stored` may differ. */
      async function secretFor(stored?: string) {
        const twin = await startTwin();
        const username = `c_${randomSuffix()}`;
        const password = randomPassword();
        await engine.rig.createUser(username, password);
        const name = uniqueName('consumer');
        const secretString = JSON.stringify({
          ...engine.rig.secretFields(),
          username,
          password: stored ?? password,
        });
        await twin
          .newClient()
          .send(new CreateSecretCommand({ Name: name, SecretString: secretString }));
        return { twin, name, password, stored: stored ?? password };
      }

      it(`${label}: the same code reads the twin through AWS_ENDPOINT_URL_SECRETS_MANAGER`, async () => {
        // Prepare
        const { twin, name } = await secretFor();
        process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = twin.url;
        const pool = createPool({ secretId: name }); // no client: built from the environment
        pools.push(pool);

        // Act
        const result = await pool.query('SELECT 1 AS one');

        // Assess
        expect(JSON.stringify(result)).toContain('"one":1');
      });

      it(`${label}: a secret that never works ends in a typed error without a password`, async () => {
        // Prepare
        const { twin, name, password, stored } = await secretFor(randomPassword());
        const pool = createPool({
          secretId: name,
          client: twin.newClient(),
          minRefreshIntervalMs: 10,
          retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
        });
        pools.push(pool);

        // Act
        const error = await pool.query('SELECT 1').catch((e: unknown) => e);

        // Assess
        expect(error).toBeInstanceOf(DatabaseLoginError);
        expect(error).toMatchObject({ attempts: 3 });
        const shown = everythingOf(error);
        expect(shown.includes(stored)).toBe(false);
        expect(shown.includes(password)).toBe(false);
        logs.assertNoneContain([stored, password]);
      });

      it(`${label}: other errors keep their class and code and carry no password`, async () => {
        // Prepare
        const { twin, name, password } = await secretFor();
        const pool = createPool({ secretId: name, client: twin.newClient() });
        pools.push(pool);

        // Act: a statement that quotes the password (mysql2 puts the SQL in err.sql).
        const error = await pool.query(`SELEC '${password}'`).catch((e: unknown) => e);

        // Assess
        expect(error).not.toBeInstanceOf(DatabaseLoginError);
        expect(error).toMatchObject({ code: syntaxErrorCode });
        expect(everythingOf(error).includes(password)).toBe(false);
      });
    });
  },
);
