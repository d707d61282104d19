import { CreateAliasCommand, CreateKeyCommand } from '@aws-sdk/client-kms';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  RotateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  GetParameterCommand,
  GetParameterHistoryCommand,
  PutParameterCommand,
} from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  LocalEndpoint,
  LocalSecretsManager,
  RotationRegistry,
} from '../../local/secrets-manager/index.js';
import { TargetWriter } from '../../shared/sync/TargetWriter.js';
import { runCli } from '../e2e/cli-harness.js';
import { findAwsCliV2, requireAwsCli, serviceCli } from '../helpers/awsCli.js';
import { captureLogs } from '../helpers/captureLogs.js';
import { randomSuffix } from '../helpers/credentials.js';
import { lambdaContext } from '../helpers/inMemorySecretsManager.js';
import { localAwsClients } from '../helpers/localAws.js';
import { useLocalSecretsManager } from '../helpers/localSecretsManager.js';
import {
  createPostgresSecret,
  POSTGRES_FUNCTION,
  postgresRegistry,
} from '../helpers/postgresTwin.js';
import { POSTGRES, type PostgresServer, startPostgres } from '../helpers/servers/postgres.js';
import { serverSupport } from '../helpers/servers/support.js';

const support = serverSupport(POSTGRES);
const aws = findAwsCliV2();
/** The AWS CLI check of one assertion: fails under CI when the CLI is missing, never skips the test. */
const skipless = {
  skip: () => {
    throw new Error('AWS CLI v2 missing');
  },
};

/** What the injected faults of one test do. */
interface Faults {
  /** The next target-writer load fails: a crash after the promotion, before the sync. */
  crashBeforeSync: boolean;
  /** Runs once, between the writer's GetObject and its PutObject: another writer's edit. */
  concurrentEdit: (() => Promise<void>) | undefined;
}

/**
 * The production PostgreSQL function with sync targets through the twin's Parameter Store,
 * S3 and KMS over HTTP (the same endpoint as Secrets Manager); its clients carry a
 * middleware that can run another writer's edit just before the function's PutObject.
 */
function registryWithSync(faults: Faults, functions: RotationRegistry[] = []) {
  const registry = postgresRegistry('single-user', undefined, (endpoint) => ({
    targetWriter: async () => {
      if (faults.crashBeforeSync) {
        faults.crashBeforeSync = false;
        throw new Error('injected crash between promotion and sync');
      }
      const clients = localAwsClients(endpoint);
      clients.s3.middlewareStack.add(
        (next, context) => async (args) => {
          const edit = faults.concurrentEdit;
          if (context.commandName === 'PutObjectCommand' && edit) {
            faults.concurrentEdit = undefined;
            await edit();
          }
          return next(args);
        },
        { step: 'initialize', name: 'injectConcurrentEdit' },
      );
      return new TargetWriter({
        ssm: () => clients.ssm,
        s3: () => clients.s3,
        kms: () => clients.kms,
      });
    },
  }));
  return (endpoint: LocalEndpoint) => {
    const built = registry(endpoint);
    functions.push(built);
    return built;
  };
}

async function prepareStores(twin: LocalSecretsManager) {
  const { kms, s3, ssm } = localAwsClients(twin);
  const key = await kms.send(new CreateKeyCommand({ Description: 'sync targets' }));
  const alias = `alias/acme-${randomSuffix()}`;
  await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyMetadata?.KeyId }));
  const bucket = `acme-config-${randomSuffix().toLowerCase()}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return { kms, s3, ssm, alias, keyArn: key.KeyMetadata?.Arn as string, bucket };
}

describe.skipIf(!support.available)(
  `PostgreSQL rotation through the twin keeps Parameter Store and S3 in step ${support.reason}`,
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

    it('updates a SecureString and one field of an S3 JSON file, keeping a concurrent edit; a crash before the sync is repaired by the retry; reconcile repairs a stale target', async () => {
      // Prepare
      const faults: Faults = { crashBeforeSync: false, concurrentEdit: undefined };
      const functions: RotationRegistry[] = [];
      const twin = await startTwin({ registry: registryWithSync(faults, functions) });
      const { s3, ssm, alias, keyArn, bucket } = await prepareStores(twin);
      const parameter = `/acme/service-${randomSuffix()}/db-password`;
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'config/app.json',
          Body: JSON.stringify({ db: { host: server.host, password: 'unset' }, feature: 'a' }),
        }),
      );
      const client = twin.newClient();
      const { name, password } = await createPostgresSecret(client, server, {
        tags: [
          { Key: 'rotator:sync:ssm:1', Value: `name=${parameter} field=password key=${alias}` },
          {
            Key: 'rotator:sync:s3:1',
            Value: `bucket=${bucket} key=config/app.json format=json pointer=/db/password field=password kms=${alias}`,
          },
        ],
      });
      const rotate = async () => {
        await client
          .send(
            new RotateSecretCommand({
              SecretId: name,
              RotationLambdaARN: `arn:aws:lambda:${twin.region}:${twin.accountId}:function:${POSTGRES_FUNCTION}`,
              RotationRules: { AutomaticallyAfterDays: 30 },
            }),
          )
          // A retry of an incomplete rotation is refused and re-attempted, as the service does.
          .catch((error: Error) => {
            if (!/previous rotation isn't complete/i.test(error.message)) throw error;
          });
        return twin.rotations.waitFor(name);
      };
      const current = async () =>
        (
          JSON.parse(
            (await client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString ?? '',
          ) as { password: string }
        ).password;
      const parameterValue = async () =>
        (await ssm.send(new GetParameterCommand({ Name: parameter, WithDecryption: true })))
          .Parameter?.Value;
      const document = async () =>
        JSON.parse(
          (await (
            await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'config/app.json' }))
          ).Body?.transformToString()) ?? '',
        ) as Record<string, unknown>;

      // Act: a rotation during which another writer edits another field of the file
      faults.concurrentEdit = async () => {
        const doc = await document();
        await s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: 'config/app.json',
            Body: JSON.stringify({ ...doc, feature: 'b', addedByOperator: true }),
          }),
        );
      };
      expect((await rotate())?.state).toBe('Succeeded');

      // Assess
      const first = await current();
      expect(first).not.toBe(password);
      expect(await server.canLogin((await createdUser(client, name)).username, first)).toBe(true);
      expect(await parameterValue()).toBe(first);
      expect(await document()).toEqual({
        db: { host: server.host, password: first },
        feature: 'b',
        addedByOperator: true,
      });
      expect(faults.concurrentEdit).toBeUndefined();
      // An operator reads the synced SecureString with the real AWS CLI v2.
      const awsPath = aws ?? (process.env.CI === 'true' ? requireAwsCli(aws, skipless) : undefined);
      if (awsPath) {
        const { cli } = serviceCli(awsPath, twin.url, 'ssm');
        const read = (await cli('get-parameter', '--name', parameter, '--with-decryption')) as {
          Parameter: { Type: string; Value: string };
        };
        expect(read.Parameter).toMatchObject({ Type: 'SecureString', Value: first });
      }
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'config/app.json' }));
      expect(head.ServerSideEncryption).toBe('aws:kms');
      expect(head.SSEKMSKeyId).toBe(keyArn);

      // Act: the function dies after moving AWSCURRENT, before writing the targets
      faults.crashBeforeSync = true;
      const crashed = await rotate();
      const second = await current();

      // Assess: promoted, targets stale; Lambda's retry of the same finishSecret event
      // completes the sync without moving a label
      expect(crashed?.state).toBe('Failed');
      expect(second).not.toBe(first);
      expect(await parameterValue()).toBe(first);
      const labels = await client.send(new DescribeSecretCommand({ SecretId: name }));
      const token = Object.entries(labels.VersionIdsToStages ?? {}).find(([, stages]) =>
        stages.includes('AWSCURRENT'),
      )?.[0] as string;
      const fn = functions[0]?.get(POSTGRES_FUNCTION);
      await fn?.(
        { Step: 'finishSecret', SecretId: labels.ARN as string, ClientRequestToken: token },
        lambdaContext() as never,
      );
      const after = await client.send(new DescribeSecretCommand({ SecretId: name }));
      expect(after.VersionIdsToStages).toEqual(labels.VersionIdsToStages);
      expect(await current()).toBe(second);
      expect(await parameterValue()).toBe(second);
      expect((await document()).db).toEqual({ host: server.host, password: second });
      const history = await ssm.send(
        new GetParameterHistoryCommand({ Name: parameter, WithDecryption: true }),
      );
      // One version per rotation: the retry added none, and the earlier value stays readable.
      expect(history.Parameters?.map((p) => [p.Version, p.Value])).toEqual([
        [1, first],
        [2, second],
      ]);

      // Act: someone overwrites the parameter by hand; reconcile finds it and repairs it
      await ssm.send(
        new PutParameterCommand({
          Name: parameter,
          Value: first,
          Type: 'SecureString',
          Overwrite: true,
        }),
      );
      const found = await runCli(twin, ['reconcile', name]);
      const repaired = await runCli(twin, ['reconcile', name, '--apply']);

      // Assess
      expect(found.code, found.stderr).toBe(1);
      expect(found.stdout).toContain(`stale: ssm:${parameter} does not hold AWSCURRENT`);
      expect(repaired.code, repaired.stderr).toBe(0);
      expect(await parameterValue()).toBe(second);
      for (const run of [found, repaired]) {
        for (const value of [password, first, second]) {
          expect(`${run.stdout}${run.stderr}`.includes(value)).toBe(false);
        }
      }
      logs.assertNoneContain([password, first, second, server.admin.password]);
    }, 120_000);
  },
);

async function createdUser(
  client: ReturnType<LocalSecretsManager['newClient']>,
  name: string,
): Promise<{ username: string }> {
  return JSON.parse(
    (await client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString ?? '',
  ) as { username: string };
}
