import { randomBytes } from 'node:crypto';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  RotateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import type { PendingRequest, RotationStrategy } from '../../shared/engine/types.js';
import { createSecretsManagerClient } from '../../shared/secrets/client.js';
import { ExampleStrategy } from '../../shared/strategies/example/ExampleStrategy.js';
import { countSecretsManagerCalls } from '../helpers/callCounter.js';
import { captureLogs } from '../helpers/captureLogs.js';
import { useLocalSecretsManager } from '../helpers/localSecretsManager.js';

// The real engine, the real AWS SDK over HTTP, and the local twin invoking the function as
// Secrets Manager does (placeholder AWSPENDING version, four steps, RotationToken).

const logs = captureLogs();
const startTwin = useLocalSecretsManager();

/** Example strategy whose setSecret fails while `broken` is set, like an unreachable target. */
class FlakyStrategy extends ExampleStrategy {
  broken = true;
  override async apply(request: PendingRequest): Promise<void> {
    if (this.broken) throw new Error('target unreachable');
    await super.apply(request);
  }
}

async function setup(strategy: RotationStrategy = new ExampleStrategy()) {
  let counts = new Map<string, number>();
  const twin = await startTwin({
    registry: (endpoint) => {
      counts = countSecretsManagerCalls(endpoint.client);
      const handler = rotationHandler(strategy, { client: endpoint.client, env: {} });
      return new Map([['rotator-test', (event, context) => handler(event, context)]]);
    },
  });
  const client = twin.newClient();
  const name = `e2e/${randomBytes(4).toString('hex')}`;
  const password = randomBytes(18).toString('base64url');
  await client.send(
    new CreateSecretCommand({
      Name: name,
      SecretString: JSON.stringify({ username: 'app', password, note: 'kept' }),
    }),
  );
  const functionArn = `arn:aws:lambda:${twin.region}:${twin.accountId}:function:rotator-test`;
  return { twin, client, name, password, functionArn, counts: () => counts };
}

describe('engine over HTTP through the local Secrets Manager', () => {
  it('RotateSecret runs the four steps: new AWSCURRENT, old AWSPREVIOUS, 8 API calls', async () => {
    const { twin, client, name, password, functionArn, counts } = await setup();
    const { VersionId } = await client.send(
      new RotateSecretCommand({
        SecretId: name,
        RotationLambdaARN: functionArn,
        RotationRules: { AutomaticallyAfterDays: 30 },
      }),
    );
    const record = await twin.rotations.waitFor(name);
    expect(record?.state).toBe('Succeeded');
    const described = await client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described.VersionIdsToStages?.[VersionId as string]).toContain('AWSCURRENT');
    const current = JSON.parse(
      (await client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString ?? '{}',
    );
    const previous = JSON.parse(
      (
        await client.send(
          new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPREVIOUS' }),
        )
      ).SecretString ?? '{}',
    );
    expect(previous.password).toBe(password);
    expect(current.password).not.toBe(password);
    expect(current.note).toBe('kept');
    const total = [...counts().values()].reduce((a, b) => a + b, 0);
    expect(total, JSON.stringify(Object.fromEntries(counts()))).toBe(8);
    logs.assertNoneContain([password, current.password]);
  });

  it('RotateImmediately=false runs testSecret alone and leaves AWSCURRENT where it was', async () => {
    const { twin, client, name, password, functionArn } = await setup();
    await client.send(
      new RotateSecretCommand({
        SecretId: name,
        RotationLambdaARN: functionArn,
        RotateImmediately: false,
        RotationRules: { AutomaticallyAfterDays: 30 },
      }),
    );
    const record = await twin.rotations.waitFor(name);
    expect(record?.mode).toBe('test');
    expect(record?.state).toBe('Succeeded');
    const current = JSON.parse(
      (await client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString ?? '{}',
    );
    expect(current.password).toBe(password);
    const steps = logs
      .json()
      .filter((l) => l.message === 'Rotation step started')
      .map((l) => l.step);
    expect(steps).toEqual(['testSecret']);
  });

  it('a failed setSecret leaves the rotation pending; a later RotateSecret resumes it with the same token', async () => {
    const strategy = new FlakyStrategy();
    const { twin, client, name, functionArn } = await setup(strategy);
    const { VersionId } = await client.send(
      new RotateSecretCommand({
        SecretId: name,
        RotationLambdaARN: functionArn,
        RotationRules: { AutomaticallyAfterDays: 30 },
      }),
    );
    const failed = await twin.rotations.waitFor(name);
    expect(failed).toMatchObject({ state: 'Failed', step: 'setSecret' });
    const stuck = await client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(stuck.VersionIdsToStages?.[VersionId as string]).toEqual(['AWSPENDING']);

    strategy.broken = false;
    await client.send(new RotateSecretCommand({ SecretId: name })).catch(() => undefined);
    const resumed = await twin.rotations.waitFor(name);
    expect(resumed?.state).toBe('Succeeded');
    const done = await client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(done.VersionIdsToStages?.[VersionId as string]).toContain('AWSCURRENT');
  });

  it.each([
    ['AWS_ENDPOINT_URL_SECRETS_MANAGER'],
    ['SECRETS_MANAGER_ENDPOINT'],
    ['AWS_ENDPOINT_URL'],
  ])('the function client reaches the endpoint named by %s', async (variable) => {
    const { twin, name } = await setup();
    const client = createSecretsManagerClient(
      { [variable]: twin.url },
      { region: twin.region, credentials: { accessKeyId: 'AKIATEST', secretAccessKey: 'test' } },
    );
    const described = await client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described.Name).toBe(name);
  });
});
