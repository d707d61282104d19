import { randomBytes } from 'node:crypto';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  RotateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import { postgresKind } from '../../shared/strategies/postgres/kind.js';
import { scramSha256Verifier } from '../../shared/strategies/postgres/scram.js';
import { captureLogs } from '../helpers/captureLogs.js';
import { randomPassword, randomSuffix } from '../helpers/credentials.js';
import { useLocalSecretsManager } from '../helpers/localSecretsManager.js';
import { POSTGRES, type PostgresServer, startPostgres } from '../helpers/servers/postgres.js';
import { serverSupport } from '../helpers/servers/support.js';

const { escapeIdentifier: ident, escapeLiteral: literal } = pg;
const support = serverSupport(POSTGRES);

/**
 * The production wiring end to end: the function built from its environment exactly as
 * functions/postgres/handler.ts builds it (no injected admin source), so the admin secret is
 * read by Powertools' SecretsProvider over HTTP from the endpoint in
 * AWS_ENDPOINT_URL_SECRETS_MANAGER, here the local Secrets Manager twin, which also drives
 * the four steps through RotateSecret.
 */
describe.skipIf(!support.available)(
  `PostgreSQL rotation through the local Secrets Manager twin ${support.reason}`,
  () => {
    let server: PostgresServer;
    const logs = captureLogs();
    const startTwin = useLocalSecretsManager();

    beforeAll(async () => {
      server = await startPostgres();
    });
    afterAll(async () => {
      await server?.stop();
    });

    it.each(['single-user', 'alternating-users'])(
      'RotateSecret twice in %s mode ends with working logins',
      async (mode) => {
        const twin = await startTwin({
          registry: (endpoint) => {
            const env = { ROTATION_MODE: mode, AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint.url };
            const handler = rotationHandler(postgresKind, {
              client: endpoint.client,
              env,
            });
            return new Map([['rotator-postgres', (event, context) => handler(event, context)]]);
          },
        });
        const client = twin.newClient();
        const suffix = randomBytes(4).toString('hex');
        const admin = await client.send(
          new CreateSecretCommand({
            Name: `rds-admin/${suffix}`,
            SecretString: JSON.stringify({
              username: server.admin.username,
              password: server.admin.password,
            }),
          }),
        );
        const username = `app_${randomSuffix()}`;
        const password = randomPassword();
        await server.query(
          `CREATE ROLE ${ident(username)} LOGIN PASSWORD ${literal(scramSha256Verifier(password))}`,
        );
        const name = `db/${suffix}`;
        await client.send(
          new CreateSecretCommand({
            Name: name,
            SecretString: JSON.stringify({
              engine: 'postgres',
              host: server.host,
              port: server.port,
              username,
              password,
              dbname: 'postgres',
              ssl: false,
              masterarn: admin.ARN,
            }),
          }),
        );
        const functionArn = `arn:aws:lambda:${twin.region}:${twin.accountId}:function:rotator-postgres`;
        const stageValue = async (stage: string) =>
          JSON.parse(
            (await client.send(new GetSecretValueCommand({ SecretId: name, VersionStage: stage })))
              .SecretString as string,
          ) as { username: string; password: string };
        for (let i = 0; i < 2; i++) {
          await client.send(
            new RotateSecretCommand({
              SecretId: name,
              RotationLambdaARN: functionArn,
              RotationRules: { AutomaticallyAfterDays: 30 },
            }),
          );
          expect((await twin.rotations.waitFor(name))?.state).toBe('Succeeded');
        }
        const current = await stageValue('AWSCURRENT');
        const previous = await stageValue('AWSPREVIOUS');
        expect(await server.canLogin(current.username, current.password)).toBe(true);
        if (mode === 'alternating-users') {
          expect(current.username).toBe(username);
          expect(previous.username).toBe(`${username}_clone`);
          expect(await server.canLogin(previous.username, previous.password)).toBe(true);
        } else {
          expect(current.username).toBe(username);
          expect(await server.canLogin(previous.username, previous.password)).toBe(false);
        }
        const serverLog = await server.readLog();
        for (const value of [password, current.password, previous.password])
          expect(serverLog.includes(value)).toBe(false);
        logs.assertNoneContain([
          password,
          current.password,
          previous.password,
          server.admin.password,
        ]);
      },
    );
  },
);
