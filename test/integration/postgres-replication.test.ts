import { randomBytes } from 'node:crypto';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  RotateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import type { RotationEvent } from '../../shared/engine/types.js';
import { postgresKind } from '../../shared/strategies/postgres/kind.js';
import { scramSha256Verifier } from '../../shared/strategies/postgres/scram.js';
import { captureLogs } from '../helpers/captureLogs.js';
import { randomPassword, randomSuffix } from '../helpers/credentials.js';
import { useLocalSecretsManager } from '../helpers/localSecretsManager.js';
import { POSTGRES, type PostgresServer, startPostgres } from '../helpers/servers/postgres.js';
import { serverSupport } from '../helpers/servers/support.js';

const { escapeIdentifier: ident, escapeLiteral: literal } = pg;
const support = serverSupport(POSTGRES);
const PRIMARY = 'us-east-1';
const REPLICA = 'eu-west-1';

/**
 * A multi-Region secret rotates in its primary Region only (User Guide, "Replicate secrets
 * across Regions"); the new AWSCURRENT is what an application reading the replica Region gets.
 */
describe.skipIf(!support.available)(
  `PostgreSQL rotation of a replicated secret through the local twin ${support.reason}`,
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

    it('RotateSecret in the primary Region; the replica Region reads the new AWSCURRENT, which logs in', async () => {
      // Prepare
      const invokedFor: string[] = [];
      const twin = await startTwin({
        region: PRIMARY,
        registry: (endpoint) => {
          const env = {
            ROTATION_MODE: 'single-user',
            AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint.url,
          };
          const handler = rotationHandler(postgresKind, { client: endpoint.client, env });
          return new Map([
            [
              'rotator-postgres',
              (event: RotationEvent, context) => {
                invokedFor.push(event.SecretId);
                return handler(event, context);
              },
            ],
          ]);
        },
      });
      const primary = twin.newClient(PRIMARY);
      const replica = twin.newClient(REPLICA);
      const suffix = randomBytes(4).toString('hex');
      const admin = await primary.send(
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
      const name = `db/replicated/${suffix}`;
      const created = await primary.send(
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
          AddReplicaRegions: [{ Region: REPLICA }],
        }),
      );

      // Act
      const rotated = await primary.send(
        new RotateSecretCommand({
          SecretId: name,
          RotationLambdaARN: `arn:aws:lambda:${PRIMARY}:${twin.accountId}:function:rotator-postgres`,
          RotationRules: { AutomaticallyAfterDays: 30 },
        }),
      );
      expect((await twin.rotations.waitFor(name))?.state).toBe('Succeeded');

      // Assess
      const read = await replica.send(new GetSecretValueCommand({ SecretId: name }));
      const current = JSON.parse(read.SecretString as string) as {
        username: string;
        password: string;
      };
      expect(read.ARN).toBe((created.ARN as string).replace(`:${PRIMARY}:`, `:${REPLICA}:`));
      expect(read.VersionId).toBe(rotated.VersionId);
      expect(read.VersionStages).toEqual(['AWSCURRENT']);
      expect(current.password).not.toBe(password);
      expect(await server.canLogin(current.username, current.password)).toBe(true);
      expect(await server.canLogin(username, password)).toBe(false);
      expect(new Set(invokedFor)).toEqual(new Set([created.ARN]));
      const [inPrimary, inReplica] = await Promise.all(
        [primary, replica].map((c) => c.send(new DescribeSecretCommand({ SecretId: name }))),
      );
      expect(inReplica?.VersionIdsToStages).toEqual(inPrimary?.VersionIdsToStages);
      expect(inReplica?.LastRotatedDate).toEqual(inPrimary?.LastRotatedDate);
      logs.assertNoneContain([password, current.password, server.admin.password]);
      primary.destroy();
      replica.destroy();
    });
  },
);
