import {
  CreateSecretCommand,
  GetSecretValueCommand,
  RotateSecretCommand,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import type { LocalSecretsManager } from '../../local/secrets-manager/index.js';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import { FREEZE_TAG } from '../../shared/governance/freeze.js';
import { ExampleStrategy } from '../../shared/strategies/example/ExampleStrategy.js';
import { captureLogs } from '../helpers/captureLogs.js';
import { localAwsClients } from '../helpers/localAws.js';
import { randomValue, uniqueName, useLocalSecretsManager } from '../helpers/localSecretsManager.js';

captureLogs();
const start = useLocalSecretsManager();
const FUNCTION = 'rotator-example';
const FREEZE_PARAMETER = '/rotator/freeze';

/** A window around now, and one that ended yesterday, in the tag syntax. */
function windows() {
  const day = (offset: number) =>
    new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  return { now: `${day(-1)}/${day(2)}`, past: `${day(-3)}/${day(-2)}` };
}

async function twin(): Promise<LocalSecretsManager> {
  return start({
    registry: ({ client, url }) => {
      const handler = rotationHandler(new ExampleStrategy(), {
        client,
        env: { FREEZE_PARAMETER_NAME: FREEZE_PARAMETER, AWS_ENDPOINT_URL: url },
      });
      return new Map([[FUNCTION, (event, context) => handler(event, context)]]);
    },
  });
}

async function stackDeclares(local: LocalSecretsManager, declaration: string) {
  await localAwsClients(local).ssm.send(
    new PutParameterCommand({
      Name: FREEZE_PARAMETER,
      Type: 'String',
      Value: declaration,
      Overwrite: true,
    }),
  );
}

async function createSecret(
  local: LocalSecretsManager,
  fields: Record<string, string> = {},
  tags = {},
) {
  const created = await local.client.send(
    new CreateSecretCommand({
      Name: uniqueName('freeze'),
      SecretString: JSON.stringify({ username: 'app', password: randomValue(), ...fields }),
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value: String(Value) })),
    }),
  );
  return created.ARN as string;
}

async function rotate(local: LocalSecretsManager, arn: string) {
  await local.client
    .send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: FUNCTION }))
    .catch(() => undefined); // a re-attempt of a pending rotation answers InvalidRequest
  await local.rotations.settled();
  return local.rotations.status(arn);
}

async function pendingHasValue(local: LocalSecretsManager, arn: string): Promise<boolean> {
  return local.client
    .send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSPENDING' }))
    .then(() => true)
    .catch(() => false);
}

describe('freeze windows through the local twin', () => {
  it('a tag on the secret refuses createSecret ("frozen"), nothing is written, and a re-attempt after the window rotates', async () => {
    const local = await twin();
    await stackDeclares(local, 'none');
    const arn = await createSecret(local, {}, { [FREEZE_TAG]: windows().now });
    const refused = await rotate(local, arn);
    expect(refused?.state).toBe('Failed');
    expect(refused?.step).toBe('createSecret');
    expect(refused?.message).toContain(
      'RotationFrozenError: Rotation frozen: the tag rotator:freeze of secret',
    );
    expect(await pendingHasValue(local, arn)).toBe(false);
    const trail = local.trail.events().filter((e) => e.detail.eventName === 'RotationFailed');
    expect(String(trail.at(-1)?.detail.errorMessage)).toContain('Rotation frozen');

    await local.client.send(
      new TagResourceCommand({ SecretId: arn, Tags: [{ Key: FREEZE_TAG, Value: windows().past }] }),
    );
    expect((await rotate(local, arn))?.state).toBe('Succeeded');
  });

  it("the admin secret's tag freezes the secrets that name it in masterarn", async () => {
    const local = await twin();
    await stackDeclares(local, 'none');
    const admin = await createSecret(local, {}, { [FREEZE_TAG]: windows().now });
    const user = await createSecret(local, { masterarn: admin });
    const refused = await rotate(local, user);
    expect(refused?.state).toBe('Failed');
    expect(refused?.message).toContain(`the tag rotator:freeze of admin secret ${admin}`);
    expect(await pendingHasValue(local, user)).toBe(false);
  });

  it('the stack-wide SSM parameter freezes every secret; "none" freezes nothing', async () => {
    const local = await twin();
    await stackDeclares(local, `${windows().past} ${windows().now}`);
    const arn = await createSecret(local);
    const refused = await rotate(local, arn);
    expect(refused?.state).toBe('Failed');
    expect(refused?.message).toContain(`the parameter ${FREEZE_PARAMETER}`);
    // The function caches the parameter for a minute: a new twin (cold function) reads it.
    const fresh = await twin();
    await stackDeclares(fresh, 'none');
    const other = await createSecret(fresh);
    expect((await rotate(fresh, other))?.state).toBe('Succeeded');
  });

  it('a warm function that reuses its read of the parameter still reads "none" as no window', async () => {
    const local = await twin();
    await stackDeclares(local, 'none');
    for (const arn of [await createSecret(local), await createSecret(local)]) {
      const status = await rotate(local, arn);
      expect(status?.message ?? '').toBe('');
      expect(status?.state).toBe('Succeeded');
    }
  });
});
