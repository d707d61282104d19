import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  RotateSecretCommand,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogs } from '../helpers/captureLogs.js';
import { useLocalSecretsManager } from '../helpers/localSecretsManager.js';
import {
  createPostgresSecret,
  POSTGRES_FUNCTION,
  postgresRegistry,
} from '../helpers/postgresTwin.js';
import { POSTGRES, type PostgresServer, startPostgres } from '../helpers/servers/postgres.js';
import { serverSupport } from '../helpers/servers/support.js';

const support = serverSupport(POSTGRES);
const PRIMARY = 'us-east-1';
const REPLICA = 'eu-west-1';

/**
 * The production wiring end to end: the function built from its environment exactly as
 * functions/postgres/handler.ts builds it (no injected admin source), so the admin secret is
 * read by Powertools' SecretsProvider over HTTP from the endpoint in
 * AWS_ENDPOINT_URL_SECRETS_MANAGER, here the local Secrets Manager twin, which also drives
 * the four steps through RotateSecret. A multi-Region secret rotates in its primary Region
 * only (User Guide, "Replicate secrets across Regions"); the replica Region reads the result.
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
        const twin = await startTwin({ registry: postgresRegistry(mode) });
        const client = twin.newClient();
        const { name, username, password } = await createPostgresSecret(client, server);
        const functionArn = `arn:aws:lambda:${twin.region}:${twin.accountId}:function:${POSTGRES_FUNCTION}`;
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

    it('a freeze window on the admin secret refuses the rotation before anything changes on the server; after it, the re-attempt rotates', async () => {
      const twin = await startTwin({ registry: postgresRegistry('alternating-users') });
      const client = twin.newClient();
      const { name, username, password } = await createPostgresSecret(client, server);
      const adminArn = (
        JSON.parse(
          (await client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString as string,
        ) as { masterarn: string }
      ).masterarn;
      const day = (offset: number) =>
        new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
      await client.send(
        new TagResourceCommand({
          SecretId: adminArn,
          Tags: [{ Key: 'rotator:freeze', Value: `${day(-1)}/${day(1)}` }],
        }),
      );
      const functionArn = `arn:aws:lambda:${twin.region}:${twin.accountId}:function:${POSTGRES_FUNCTION}`;
      await client.send(
        new RotateSecretCommand({
          SecretId: name,
          RotationLambdaARN: functionArn,
          RotationRules: { AutomaticallyAfterDays: 30 },
        }),
      );
      const refused = await twin.rotations.waitFor(name);
      expect(refused?.state).toBe('Failed');
      expect(refused?.step).toBe('createSecret');
      expect(refused?.message).toContain('Rotation frozen: the tag rotator:freeze of admin secret');
      // Nothing on the server: the clone was never created, the user's password is the same.
      expect(await server.canLogin(username, password)).toBe(true);
      const clones = await server.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [
        `${username}_clone`,
      ]);
      expect(clones).toHaveLength(0);

      await client.send(
        new TagResourceCommand({
          SecretId: adminArn,
          Tags: [{ Key: 'rotator:freeze', Value: `${day(-3)}/${day(-2)}` }],
        }),
      );
      await client
        .send(new RotateSecretCommand({ SecretId: name, RotationLambdaARN: functionArn }))
        .catch(() => undefined); // "A previous rotation isn't complete": it is re-attempted
      expect((await twin.rotations.waitFor(name))?.state).toBe('Succeeded');
      const current = JSON.parse(
        (await client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString as string,
      ) as { username: string; password: string };
      expect(await server.canLogin(current.username, current.password)).toBe(true);
      logs.assertNoneContain([password, current.password, server.admin.password]);
    });

    it('RotateSecret in the primary Region; the replica Region reads the new AWSCURRENT, which logs in', async () => {
      // Prepare
      const invokedFor: string[] = [];
      const twin = await startTwin({
        region: PRIMARY,
        registry: postgresRegistry('single-user', (event) => invokedFor.push(event.SecretId)),
      });
      const primary = twin.newClient(PRIMARY);
      const replica = twin.newClient(REPLICA);
      const { name, arn, username, password } = await createPostgresSecret(primary, server, {
        prefix: 'db/replicated',
        replicaRegions: [{ Region: REPLICA }],
      });

      // Act
      const rotated = await primary.send(
        new RotateSecretCommand({
          SecretId: name,
          RotationLambdaARN: `arn:aws:lambda:${PRIMARY}:${twin.accountId}:function:${POSTGRES_FUNCTION}`,
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
      expect(read.ARN).toBe(arn.replace(`:${PRIMARY}:`, `:${REPLICA}:`));
      expect(read.VersionId).toBe(rotated.VersionId);
      expect(read.VersionStages).toEqual(['AWSCURRENT']);
      expect(current.password).not.toBe(password);
      expect(await server.canLogin(current.username, current.password)).toBe(true);
      expect(await server.canLogin(username, password)).toBe(false);
      expect(new Set(invokedFor)).toEqual(new Set([arn]));
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
