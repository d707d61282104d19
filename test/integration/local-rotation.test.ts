import { randomBytes } from 'node:crypto';
import {
  CancelRotateSecretCommand,
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  InvalidRequestException,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  RotateSecretCommand,
  type SecretsManagerClient,
  UpdateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../local/secrets-manager/index.js';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import type { RotationEvent } from '../../shared/engine/types.js';
import { ExampleStrategy } from '../../shared/strategies/example/ExampleStrategy.js';
import {
  describeRaw,
  randomCredential,
  randomValue,
  scriptedRotationFunction,
  uniqueName,
  useLocalSecretsManager,
  versionWith,
} from '../helpers/localSecretsManager.js';

const start = useLocalSecretsManager();
const FUNCTION = 'arn:aws:lambda:us-east-1:123456789012:function:test-rotation';

type Script = ReturnType<typeof scriptedRotationFunction>;

/** A twin whose `test-rotation` function is a scripted template function. */
async function twinWithScript(
  options: Parameters<typeof scriptedRotationFunction>[1] = {},
  extra = {},
) {
  let script: Script | undefined;
  const twin = await start({
    ...extra,
    registry: ({ client }) => {
      script = scriptedRotationFunction(client, options);
      return new Map([['test-rotation', script.fn]]);
    },
  });
  return { twin, script: script as Script, client: twin.client };
}

async function createSecret(client: SecretsManagerClient, value = randomCredential()) {
  const created = await client.send(
    new CreateSecretCommand({ Name: uniqueName('rot'), SecretString: value }),
  );
  return { arn: created.ARN as string, versionId: created.VersionId as string, value };
}

async function stagesOf(client: SecretsManagerClient, arn: string) {
  return (await client.send(new DescribeSecretCommand({ SecretId: arn }))).VersionIdsToStages ?? {};
}

describe('local Secrets Manager: RotateSecret and the rotation function', () => {
  it('returns {ARN, Name, VersionId} and invokes createSecret, setSecret, testSecret, finishSecret in order with the documented event', async () => {
    // Prepare
    const { twin, script, client } = await twinWithScript();
    const secret = await createSecret(client);
    // Act
    const rotated = await client.send(
      new RotateSecretCommand({ SecretId: secret.arn, RotationLambdaARN: FUNCTION }),
    );
    await twin.rotations.settled();
    // Assess
    expect(rotated.ARN).toBe(secret.arn);
    expect(rotated.VersionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(script.steps()).toEqual(['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
    for (const { event } of script.invocations) {
      expect(Object.keys(event).sort()).toEqual([
        'ClientRequestToken',
        'RotationToken',
        'SecretId',
        'Step',
      ]);
      expect(event.SecretId).toBe(secret.arn);
      expect(event.ClientRequestToken).toBe(rotated.VersionId);
      expect(event.RotationToken).toMatch(/^[a-zA-Z0-9-]{36,256}$/);
    }
  });

  it('creates the AWSPENDING version without a value before createSecret: DescribeSecret lists it, GetSecretValue gives ResourceNotFoundException', async () => {
    let probe: unknown;
    let stagesSeen: string[] | undefined;
    const twin = await start({
      registry: ({ client }) =>
        new Map([
          [
            'test-rotation',
            async (event: RotationEvent) => {
              if (event.Step !== 'createSecret') throw new Error('stop after createSecret');
              stagesSeen = (await stagesOf(client, event.SecretId))[event.ClientRequestToken];
              probe = await client
                .send(
                  new GetSecretValueCommand({
                    SecretId: event.SecretId,
                    VersionId: event.ClientRequestToken,
                    VersionStage: 'AWSPENDING',
                  }),
                )
                .catch((e) => e);
              throw new Error('stop after createSecret');
            },
          ],
        ]),
    });
    const secret = await createSecret(twin.client);
    await twin.client.send(
      new RotateSecretCommand({ SecretId: secret.arn, RotationLambdaARN: FUNCTION }),
    );
    await twin.rotations.settled();
    expect(stagesSeen).toEqual(['AWSPENDING']);
    expect(probe).toBeInstanceOf(ResourceNotFoundException);
    expect((probe as Error).message).toBe(
      "Secrets Manager can't find the specified secret value for staging label: AWSPENDING",
    );
  });

  it('runs the function asynchronously: RotateSecret has returned while a step still runs', async () => {
    const { twin, script, client } = await twinWithScript({ blockAt: 'setSecret' });
    const secret = await createSecret(client);
    const rotated = await client.send(
      new RotateSecretCommand({ SecretId: secret.arn, RotationLambdaARN: FUNCTION }),
    );
    await script.reachedBlock;
    const during = await describeRaw(twin.url, secret.arn);
    expect(
      (during.VersionIdsToStages as Record<string, string[]>)[rotated.VersionId as string],
    ).toEqual(['AWSPENDING']);
    expect(during.LocalRotationStatus).toMatchObject({
      State: 'InProgress',
      Step: 'setSecret',
    });
    script.release();
    await twin.rotations.settled();
    expect(versionWith(await stagesOf(client, secret.arn), 'AWSCURRENT')).toBe(rotated.VersionId);
  });

  it('after finishSecret the backend removes AWSPENDING the function left, sets LastRotatedDate and moves AWSPREVIOUS', async () => {
    const clock = new ManualClock(Date.UTC(2026, 1, 2, 3, 4, 5));
    const { twin, script, client } = await twinWithScript({}, { clock });
    const secret = await createSecret(client);
    const rotated = await client.send(
      new RotateSecretCommand({ SecretId: secret.arn, RotationLambdaARN: FUNCTION }),
    );
    const record = await twin.rotations.waitFor(secret.arn);
    const described = await client.send(new DescribeSecretCommand({ SecretId: secret.arn }));
    expect(record).toMatchObject({ state: 'Succeeded', versionId: rotated.VersionId });
    expect(script.invocations.at(-1)?.stagesOfToken).toEqual(['AWSPENDING']);
    expect(described.VersionIdsToStages).toEqual({
      [secret.versionId]: ['AWSPREVIOUS'],
      [rotated.VersionId as string]: ['AWSCURRENT'],
    });
    expect(described.LastRotatedDate?.toISOString()).toBe('2026-02-02T03:04:05.000Z');
    expect(described.RotationEnabled).toBe(true);
    expect(described.RotationLambdaARN).toBe(FUNCTION);
    const current = await client.send(new GetSecretValueCommand({ SecretId: secret.arn }));
    expect(current.SecretString).not.toBe(secret.value);
  });

  it('resolves RotationLambdaARN by bare function name as well as by ARN, and passes a Lambda-like context', async () => {
    const { twin, script, client } = await twinWithScript({}, { functionTimeoutMs: 5_000 });
    const secret = await createSecret(client);
    await client.send(
      new RotateSecretCommand({ SecretId: secret.arn, RotationLambdaARN: 'test-rotation' }),
    );
    await twin.rotations.settled();
    const { context, remainingMs } = script.invocations[0] ?? {};
    expect(context?.functionName).toBe('test-rotation');
    expect(context?.invokedFunctionArn).toBe(FUNCTION);
    expect(context?.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(remainingMs).toBeGreaterThan(0);
    expect(remainingMs).toBeLessThanOrEqual(5_000);
  });

  describe('configuration checks', () => {
    it('needs a RotationLambdaARN (InvalidRequestException)', async () => {
      const { client } = await twinWithScript();
      const secret = await createSecret(client);
      await expect(
        client.send(new RotateSecretCommand({ SecretId: secret.arn })),
      ).rejects.toBeInstanceOf(InvalidRequestException);
    });

    it('refuses a function the registry cannot resolve, leaving the secret unchanged', async () => {
      const { client } = await twinWithScript();
      const secret = await createSecret(client);
      await expect(
        client.send(
          new RotateSecretCommand({
            SecretId: secret.arn,
            RotationLambdaARN: 'arn:aws:lambda:us-east-1:123456789012:function:nope',
          }),
        ),
      ).rejects.toBeInstanceOf(InvalidRequestException);
      expect(await stagesOf(client, secret.arn)).toEqual({ [secret.versionId]: ['AWSCURRENT'] });
    });

    it.each([
      [{ AutomaticallyAfterDays: 0 }],
      [{ AutomaticallyAfterDays: 1001 }],
      [{ AutomaticallyAfterDays: 2, ScheduleExpression: 'rate(2 days)' }],
      [{ ScheduleExpression: 'rate(3 hours)' }],
      [{ ScheduleExpression: 'cron(0 * * * ? *)' }],
      [{ ScheduleExpression: 'cron(0 8 1 * ? 2027)' }],
      [{ ScheduleExpression: 'every day' }],
      [{ ScheduleExpression: 'rate(1 day)', Duration: '30h' }],
      [{ ScheduleExpression: 'rate(4 hours)', Duration: '5h' }],
      [{ ScheduleExpression: 'cron(0 22 * * ? *)', Duration: '3h' }],
      // The 02:00 window would run into the 08:00 one ("must not extend into the next window").
      [{ ScheduleExpression: 'cron(0 2,8 * * ? *)', Duration: '8h' }],
    ])('refuses invalid RotationRules %j with InvalidParameterException', async (rules) => {
      const { client } = await twinWithScript();
      const secret = await createSecret(client);
      await expect(
        client.send(
          new RotateSecretCommand({
            SecretId: secret.arn,
            RotationLambdaARN: FUNCTION,
            RotationRules: rules,
          }),
        ),
      ).rejects.toBeInstanceOf(InvalidParameterException);
    });

    it.each([
      [{ AutomaticallyAfterDays: 1 }],
      [{ AutomaticallyAfterDays: 1000 }],
      [{ ScheduleExpression: 'rate(4 hours)', Duration: '2h' }],
      [{ ScheduleExpression: 'rate(10 days)' }],
      [{ ScheduleExpression: 'cron(0 16 1,15 * ? *)', Duration: '2h' }],
      [{ ScheduleExpression: 'cron(0 */4 * * ? *)' }],
      [{ ScheduleExpression: 'cron(0 8 ? * MON-FRI *)' }],
    ])('accepts valid RotationRules %j and reports them in DescribeSecret', async (rules) => {
      const { twin, client } = await twinWithScript();
      const secret = await createSecret(client);
      await client.send(
        new RotateSecretCommand({
          SecretId: secret.arn,
          RotationLambdaARN: FUNCTION,
          RotationRules: rules,
        }),
      );
      await twin.rotations.settled();
      const described = await client.send(new DescribeSecretCommand({ SecretId: secret.arn }));
      expect(described.RotationRules).toEqual(rules);
      expect(described.NextRotationDate).toBeInstanceOf(Date);
    });
  });

  describe('failure and resumption', () => {
    it('a failing step leaves AWSPENDING on the new version and records the step and message for operators', async () => {
      const message = `boom-${randomBytes(4).toString('hex')}`;
      const { twin, script, client } = await twinWithScript({
        failAt: { step: 'setSecret', message },
      });
      const secret = await createSecret(client);
      const rotated = await client.send(
        new RotateSecretCommand({ SecretId: secret.arn, RotationLambdaARN: FUNCTION }),
      );
      await twin.rotations.settled();
      const described = await client.send(new DescribeSecretCommand({ SecretId: secret.arn }));
      expect(script.steps()).toEqual(['createSecret', 'setSecret']);
      expect(described.VersionIdsToStages).toEqual({
        [secret.versionId]: ['AWSCURRENT'],
        [rotated.VersionId as string]: ['AWSPENDING'],
      });
      const status = (await describeRaw(twin.url, secret.arn)).LocalRotationStatus as Record<
        string,
        unknown
      >;
      expect(status).toMatchObject({
        State: 'Failed',
        Step: 'setSecret',
        VersionId: rotated.VersionId,
      });
      expect(status.Message).toContain('during setSecret step');
      expect(status.Message).toContain(message);
      expect(twin.rotations.status(secret.arn)?.state).toBe('Failed');
    });

    it('a later RotateSecret answers "A previous rotation isn\'t complete. That rotation will be reattempted." and re-runs all four steps with the same token', async () => {
      const { twin, script, client } = await twinWithScript({
        failAt: { step: 'testSecret', message: 'not yet', times: 1 },
      });
      const secret = await createSecret(client);
      const rotated = await client.send(
        new RotateSecretCommand({ SecretId: secret.arn, RotationLambdaARN: FUNCTION }),
      );
      await twin.rotations.settled();
      const error = await client
        .send(new RotateSecretCommand({ SecretId: secret.arn }))
        .catch((e) => e);
      await twin.rotations.settled();
      expect(error).toBeInstanceOf(InvalidRequestException);
      expect(error.message).toBe(
        "A previous rotation isn't complete. That rotation will be reattempted.",
      );
      expect(script.steps()).toEqual([
        'createSecret',
        'setSecret',
        'testSecret',
        'createSecret',
        'setSecret',
        'testSecret',
        'finishSecret',
      ]);
      expect(new Set(script.invocations.map((i) => i.event.ClientRequestToken))).toEqual(
        new Set([rotated.VersionId]),
      );
      expect(await stagesOf(client, secret.arn)).toEqual({
        [secret.versionId]: ['AWSPREVIOUS'],
        [rotated.VersionId as string]: ['AWSCURRENT'],
      });
      expect(twin.rotations.status(secret.arn)).toMatchObject({ state: 'Succeeded', attempts: 2 });
    });

    it('refuses RotateSecret while a rotation is pending even when its rules change, keeping the old rules', async () => {
      const { twin, client } = await twinWithScript({
        failAt: { step: 'createSecret', message: 'down' },
      });
      const secret = await createSecret(client);
      await client.send(
        new RotateSecretCommand({
          SecretId: secret.arn,
          RotationLambdaARN: FUNCTION,
          RotationRules: { AutomaticallyAfterDays: 5 },
        }),
      );
      await twin.rotations.settled();
      await expect(
        client.send(
          new RotateSecretCommand({
            SecretId: secret.arn,
            RotationRules: { AutomaticallyAfterDays: 9 },
          }),
        ),
      ).rejects.toBeInstanceOf(InvalidRequestException);
      await twin.rotations.settled();
      expect(
        (await client.send(new DescribeSecretCommand({ SecretId: secret.arn }))).RotationRules,
      ).toEqual({ AutomaticallyAfterDays: 5 });
    });

    it('writing a new value while a rotation is pending abandons it (RotationAbandoned): AWSPENDING is removed', async () => {
      const { twin, client } = await twinWithScript({
        failAt: { step: 'setSecret', message: 'down' },
      });
      const secret = await createSecret(client);
      const rotated = await client.send(
        new RotateSecretCommand({ SecretId: secret.arn, RotationLambdaARN: FUNCTION }),
      );
      await twin.rotations.settled();
      const put = await client.send(
        new PutSecretValueCommand({ SecretId: secret.arn, SecretString: randomCredential() }),
      );
      const stages = await stagesOf(client, secret.arn);
      expect(versionWith(stages, 'AWSPENDING')).toBeUndefined();
      expect(versionWith(stages, 'AWSCURRENT')).toBe(put.VersionId);
      expect(stages[rotated.VersionId as string]).toBeUndefined();
      expect(twin.rotations.status(secret.arn)?.state).toBe('Abandoned');
      // Nothing blocks the next rotation any more.
      await client.send(new RotateSecretCommand({ SecretId: secret.arn }));
    });

    it('UpdateSecret with a value, or PutSecretValue with other labels, also abandons a pending rotation', async () => {
      const { twin, client } = await twinWithScript({
        failAt: { step: 'setSecret', message: 'down' },
      });
      for (const write of [
        (arn: string) =>
          client.send(new UpdateSecretCommand({ SecretId: arn, SecretString: randomCredential() })),
        (arn: string) =>
          client.send(
            new PutSecretValueCommand({
              SecretId: arn,
              SecretString: randomCredential(),
              VersionStages: ['CUSTOM'],
            }),
          ),
      ]) {
        const secret = await createSecret(client);
        await client.send(
          new RotateSecretCommand({ SecretId: secret.arn, RotationLambdaARN: FUNCTION }),
        );
        await twin.rotations.settled();
        await write(secret.arn);
        expect(versionWith(await stagesOf(client, secret.arn), 'AWSPENDING')).toBeUndefined();
        expect(twin.rotations.status(secret.arn)?.state).toBe('Abandoned');
      }
    });

    it('removing AWSPENDING by hand (UpdateSecretVersionStage) unblocks RotateSecret', async () => {
      const { twin, client } = await twinWithScript({
        failAt: { step: 'createSecret', message: 'down', times: 1 },
      });
      const secret = await createSecret(client);
      const rotated = await client.send(
        new RotateSecretCommand({ SecretId: secret.arn, RotationLambdaARN: FUNCTION }),
      );
      await twin.rotations.settled();
      await client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secret.arn,
          VersionStage: 'AWSPENDING',
          RemoveFromVersionId: rotated.VersionId,
        }),
      );
      const again = await client.send(new RotateSecretCommand({ SecretId: secret.arn }));
      await twin.rotations.settled();
      expect(versionWith(await stagesOf(client, secret.arn), 'AWSCURRENT')).toBe(again.VersionId);
    });

    it('a step that outlives the function timeout fails with Lambda\'s "Task timed out" message', async () => {
      const { twin, script, client } = await twinWithScript(
        { blockAt: 'testSecret' },
        { functionTimeoutMs: 1_500 },
      );
      const secret = await createSecret(client);
      await client.send(
        new RotateSecretCommand({ SecretId: secret.arn, RotationLambdaARN: FUNCTION }),
      );
      await twin.rotations.settled();
      script.release();
      expect(twin.rotations.status(secret.arn)).toMatchObject({
        state: 'Failed',
        step: 'testSecret',
      });
      expect(twin.rotations.status(secret.arn)?.message).toContain(
        'Task timed out after 1.50 seconds',
      );
    });

    it('fails the rotation when finishSecret returns without making the version AWSCURRENT', async () => {
      const twin = await start({
        registry: ({ client }) =>
          new Map([
            [
              'test-rotation',
              async (event: RotationEvent) => {
                if (event.Step === 'createSecret') {
                  await client.send(
                    new PutSecretValueCommand({
                      SecretId: event.SecretId,
                      ClientRequestToken: event.ClientRequestToken,
                      SecretString: randomValue(),
                      VersionStages: ['AWSPENDING'],
                    }),
                  );
                }
              },
            ],
          ]),
      });
      const secret = await createSecret(twin.client);
      await twin.client.send(
        new RotateSecretCommand({ SecretId: secret.arn, RotationLambdaARN: FUNCTION }),
      );
      await twin.rotations.settled();
      expect(twin.rotations.status(secret.arn)).toMatchObject({
        state: 'Failed',
        step: 'finishSecret',
      });
      expect(versionWith(await stagesOf(twin.client, secret.arn), 'AWSCURRENT')).toBe(
        secret.versionId,
      );
    });
  });

  describe('CancelRotateSecret', () => {
    it('turns rotation off and returns the in-progress VersionId, leaving AWSPENDING in place as AWS does', async () => {
      const { twin, script, client } = await twinWithScript({
        failAt: { step: 'setSecret', message: 'down' },
      });
      const secret = await createSecret(client);
      const rotated = await client.send(
        new RotateSecretCommand({ SecretId: secret.arn, RotationLambdaARN: FUNCTION }),
      );
      await twin.rotations.settled();
      const cancelled = await client.send(new CancelRotateSecretCommand({ SecretId: secret.arn }));
      const described = await client.send(new DescribeSecretCommand({ SecretId: secret.arn }));
      expect(cancelled.VersionId).toBe(rotated.VersionId);
      expect(described.RotationEnabled).toBe(false);
      expect(described.NextRotationDate).toBeUndefined();
      expect(versionWith(described.VersionIdsToStages, 'AWSPENDING')).toBe(rotated.VersionId);
      // "Failing to clean up a cancelled rotation can block you from starting future rotations."
      await expect(
        client.send(new RotateSecretCommand({ SecretId: secret.arn })),
      ).rejects.toBeInstanceOf(InvalidRequestException);
      await twin.rotations.settled();
      // ...and the cancelled rotation is not re-attempted.
      expect(script.steps()).toEqual(['createSecret', 'setSecret']);
      expect(twin.rotations.status(secret.arn)?.state).toBe('Cancelled');
    });

    it('stops a running rotation before its next step', async () => {
      const { twin, script, client } = await twinWithScript({ blockAt: 'setSecret' });
      const secret = await createSecret(client);
      await client.send(
        new RotateSecretCommand({ SecretId: secret.arn, RotationLambdaARN: FUNCTION }),
      );
      await script.reachedBlock;
      await client.send(new CancelRotateSecretCommand({ SecretId: secret.arn }));
      script.release();
      await twin.rotations.settled();
      expect(script.steps()).toEqual(['createSecret', 'setSecret']);
      expect(twin.rotations.status(secret.arn)?.state).toBe('Cancelled');
    });
  });

  describe('RotateImmediately=false', () => {
    it('creates an AWSPENDING version holding a copy of the current value, runs only testSecret, then removes the label', async () => {
      let pendingSeen: string | undefined;
      const steps: string[] = [];
      const twin = await start({
        registry: ({ client }) =>
          new Map([
            [
              'test-rotation',
              async (event: RotationEvent) => {
                steps.push(event.Step);
                const pending = await client.send(
                  new GetSecretValueCommand({
                    SecretId: event.SecretId,
                    VersionId: event.ClientRequestToken,
                    VersionStage: 'AWSPENDING',
                  }),
                );
                pendingSeen = pending.SecretString;
              },
            ],
          ]),
      });
      const secret = await createSecret(twin.client);
      const rotated = await twin.client.send(
        new RotateSecretCommand({
          SecretId: secret.arn,
          RotationLambdaARN: FUNCTION,
          RotateImmediately: false,
          RotationRules: { AutomaticallyAfterDays: 30 },
        }),
      );
      await twin.rotations.settled();
      const described = await twin.client.send(new DescribeSecretCommand({ SecretId: secret.arn }));
      expect(steps).toEqual(['testSecret']);
      expect(pendingSeen).toBe(secret.value);
      expect(described.VersionIdsToStages).toEqual({ [secret.versionId]: ['AWSCURRENT'] });
      expect(described.RotationEnabled).toBe(true);
      expect(described.LastRotatedDate).toBeUndefined();
      const all = await twin.client.send(
        new ListSecretVersionIdsCommand({ SecretId: secret.arn, IncludeDeprecated: true }),
      );
      expect(all.Versions?.map((v) => v.VersionId)).toContain(rotated.VersionId);
    });
  });

  it("rotates with the project's own handler: rotationHandler(new ExampleStrategy(), { client })", async () => {
    const twin = await start({
      registry: ({ client }) => {
        const handler = rotationHandler(new ExampleStrategy(), { client, env: {} });
        return new Map([['rotator-example', (event, context) => handler(event, context)]]);
      },
    });
    const secret = await createSecret(twin.client);
    const rotated = await twin.client.send(
      new RotateSecretCommand({
        SecretId: secret.arn,
        RotationLambdaARN: 'arn:aws:lambda:us-east-1:123456789012:function:rotator-example',
      }),
    );
    await twin.rotations.settled();
    const current = await twin.client.send(new GetSecretValueCommand({ SecretId: secret.arn }));
    const before = JSON.parse(secret.value) as { username: string; password: string };
    const after = JSON.parse(current.SecretString as string) as {
      username: string;
      password: string;
    };
    expect(twin.rotations.status(secret.arn)?.state).toBe('Succeeded');
    expect(current.VersionId).toBe(rotated.VersionId);
    expect(after.username).toBe(before.username);
    expect(after.password).not.toBe(before.password);
  });
});

describe('local Secrets Manager: operator view of rotations', () => {
  it('GET /_local/rotations lists the latest rotation of each secret with state, step and message', async () => {
    const message = `unreachable-${randomBytes(4).toString('hex')}`;
    const { twin, client } = await twinWithScript({ failAt: { step: 'createSecret', message } });
    const secret = await createSecret(client);
    const untouched = await createSecret(client);
    await client.send(
      new RotateSecretCommand({ SecretId: secret.arn, RotationLambdaARN: FUNCTION }),
    );
    await twin.rotations.settled();
    const response = await fetch(`${twin.url}/_local/rotations`);
    const body = (await response.json()) as { Rotations: Record<string, unknown>[] };
    expect(response.status).toBe(200);
    expect(body.Rotations).toHaveLength(1);
    expect(body.Rotations[0]).toMatchObject({
      ARN: secret.arn,
      State: 'Failed',
      Step: 'createSecret',
    });
    expect(String(body.Rotations[0]?.Message)).toContain(message);
    expect(body.Rotations.map((r) => r.ARN)).not.toContain(untouched.arn);
  });
});
