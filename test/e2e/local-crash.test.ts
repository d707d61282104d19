import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidRequestException,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it } from 'vitest';
import { localClientConfig } from '../../local/secrets-manager/index.js';
import { MASTER_KEY_ENV } from '../../local/secrets-manager/masterKey.js';
import {
  type ChildTwin,
  describeRaw,
  eventually,
  randomCredential,
  randomValue,
  spawnLocalTwin,
  uniqueName,
  versionWith,
} from '../helpers/localSecretsManager.js';

const children: ChildTwin[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const twin of children.splice(0)) {
    if (twin.child.exitCode === null && twin.child.signalCode === null) {
      twin.child.kill('SIGKILL');
      await twin.exited;
    }
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A temporary directory for a state file, and an environment with a fresh master key. */
function stateDir() {
  const dir = mkdtempSync(join(tmpdir(), 'rotator-crash-'));
  dirs.push(dir);
  const env = { ...process.env, [MASTER_KEY_ENV]: randomBytes(32).toString('base64') };
  return { dir, statePath: join(dir, 'state.json'), env };
}

async function spawn(statePath: string, env: NodeJS.ProcessEnv): Promise<ChildTwin> {
  const twin = await spawnLocalTwin(
    [
      '--state',
      statePath,
      '--port',
      '0',
      '--no-seed',
      '--quiet',
      '--function-timeout-ms',
      '600000',
      '--functions',
      'test/e2e/local-crash.functions.ts',
    ],
    env,
  );
  children.push(twin);
  return twin;
}

interface RotationStatus {
  State?: string;
  Step?: string;
  VersionId?: string;
}

async function rotationStatus(url: string, arn: string): Promise<RotationStatus | undefined> {
  return (await describeRaw(url, arn)).LocalRotationStatus as RotationStatus | undefined;
}

describe('local Secrets Manager: a SIGKILL mid-rotation loses nothing', () => {
  it('restarts on the same state file with every acknowledged version and label, and RotateSecret resumes the rotation to completion', async () => {
    // Prepare: a twin whose rotation function hangs in setSecret.
    const { dir, statePath, env } = stateDir();
    const marker = join(dir, 'hanging');
    const first = await spawn(statePath, {
      ...env,
      LOCAL_TWIN_HANG_AT: 'setSecret',
      LOCAL_TWIN_HANG_MARKER: marker,
    });
    const client1 = new SecretsManagerClient(localClientConfig(first.url, 'us-east-1'));
    const values = [randomCredential(), randomCredential()];
    const { ARN } = await client1.send(
      new CreateSecretCommand({ Name: uniqueName('crash'), SecretString: values[0] }),
    );
    const arn = ARN as string;
    await client1.send(new PutSecretValueCommand({ SecretId: arn, SecretString: values[1] }));
    const rotated = await client1.send(
      new RotateSecretCommand({
        SecretId: arn,
        RotationLambdaARN: 'arn:aws:lambda:us-east-1:123456789012:function:crash-test',
      }),
    );
    const token = rotated.VersionId as string;
    await eventually(async () => (existsSync(marker) ? true : undefined));
    expect(await rotationStatus(first.url, arn)).toMatchObject({
      State: 'InProgress',
      Step: 'setSecret',
    });
    const pending = await client1.send(
      new GetSecretValueCommand({ SecretId: arn, VersionId: token, VersionStage: 'AWSPENDING' }),
    );
    const before = await client1.send(new DescribeSecretCommand({ SecretId: arn }));
    const versionsBefore = await client1.send(
      new ListSecretVersionIdsCommand({ SecretId: arn, IncludeDeprecated: true }),
    );
    client1.destroy();

    // Act: kill without warning, restart on the same file without the hang.
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const second = await spawn(statePath, env);
    const client2 = new SecretsManagerClient(localClientConfig(second.url, 'us-east-1'));

    // Assess: nothing acknowledged was lost.
    const afterRestart = await client2.send(new DescribeSecretCommand({ SecretId: arn }));
    const versionsAfter = await client2.send(
      new ListSecretVersionIdsCommand({ SecretId: arn, IncludeDeprecated: true }),
    );
    expect(afterRestart.VersionIdsToStages).toEqual(before.VersionIdsToStages);
    expect(versionsAfter.Versions?.map((v) => [v.VersionId, v.VersionStages])).toEqual(
      versionsBefore.Versions?.map((v) => [v.VersionId, v.VersionStages]),
    );
    expect(
      (
        await client2.send(
          new GetSecretValueCommand({
            SecretId: arn,
            VersionId: token,
            VersionStage: 'AWSPENDING',
          }),
        )
      ).SecretString,
    ).toBe(pending.SecretString);
    expect((await client2.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString).toBe(
      values[1],
    );
    expect(await rotationStatus(second.url, arn)).toMatchObject({
      State: 'Interrupted',
      Step: 'setSecret',
      VersionId: token,
    });

    // Act: RotateSecret refuses ("will be reattempted") and resumes the same rotation.
    await expect(client2.send(new RotateSecretCommand({ SecretId: arn }))).rejects.toBeInstanceOf(
      InvalidRequestException,
    );
    await eventually(async () =>
      (await rotationStatus(second.url, arn))?.State === 'Succeeded' ? true : undefined,
    );

    // Assess: the pending value became current, labels consistent.
    const finished = await client2.send(new DescribeSecretCommand({ SecretId: arn }));
    const previousVersion = versionWith(before.VersionIdsToStages, 'AWSCURRENT');
    expect(finished.VersionIdsToStages?.[token]).toEqual(['AWSCURRENT']);
    expect(versionWith(finished.VersionIdsToStages, 'AWSPREVIOUS')).toBe(previousVersion);
    expect(versionWith(finished.VersionIdsToStages, 'AWSPENDING')).toBeUndefined();
    expect((await client2.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString).toBe(
      pending.SecretString,
    );
    expect(
      (
        await client2.send(
          new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSPREVIOUS' }),
        )
      ).SecretString,
    ).toBe(values[1]);
    expect(finished.LastRotatedDate).toBeInstanceOf(Date);
    client2.destroy();
  });
});

const WRITERS = 8;
const KILLS = 3;

describe('local Secrets Manager: SIGKILL during a stream of writes', () => {
  it('keeps every acknowledged version and its value across repeated kills at random moments, and stays writable', async () => {
    // Prepare
    const { statePath, env } = stateDir();
    /** Acknowledged writes per secret, in order: [versionId, value]. */
    const acknowledged = new Map<string, [string, string][]>();
    const names = Array.from({ length: WRITERS }, (_, i) => `kill/${i}`);
    for (let round = 0; round <= KILLS; round++) {
      const twin = await spawn(statePath, env);
      const client = new SecretsManagerClient(localClientConfig(twin.url, 'us-east-1'));
      // Assess (from the second round): nothing acknowledged before the last kill was lost.
      for (const [name, writes] of acknowledged) {
        for (const [versionId, value] of writes) {
          const got = await client.send(
            new GetSecretValueCommand({ SecretId: name, VersionId: versionId }),
          );
          expect(got.SecretString, `${name} ${versionId}`).toBe(value);
        }
        // The last acknowledged write is current, or a later one that was not acknowledged.
        const described = await client.send(new DescribeSecretCommand({ SecretId: name }));
        const current = versionWith(described.VersionIdsToStages, 'AWSCURRENT') as string;
        const last = writes[writes.length - 1]?.[0] as string;
        if (current !== last) {
          expect(writes.map(([id]) => id)).not.toContain(current);
        }
      }
      if (round === KILLS) {
        client.destroy();
        break;
      }
      // Act: eight writers, each on its own secret, until SIGKILL at a random moment.
      let killed = false;
      const writer = async (name: string) => {
        const writes = acknowledged.get(name) ?? [];
        acknowledged.set(name, writes);
        if (round === 0) {
          const value = randomValue();
          const created = await client.send(
            new CreateSecretCommand({ Name: name, SecretString: value }),
          );
          writes.push([created.VersionId as string, value]);
        }
        while (!killed) {
          const value = randomValue(randomInt(16, 400));
          try {
            const put = await client.send(
              new PutSecretValueCommand({ SecretId: name, SecretString: value }),
            );
            if (!killed) writes.push([put.VersionId as string, value]);
          } catch {
            return; // the connection died with the twin: not acknowledged
          }
        }
      };
      const writing = Promise.all(names.map(writer));
      await new Promise((resolve) => setTimeout(resolve, randomInt(300, 900)));
      killed = true;
      twin.child.kill('SIGKILL');
      expect(await twin.exited).toBe('SIGKILL');
      await writing;
      client.destroy();
    }
    const total = [...acknowledged.values()].reduce((n, writes) => n + writes.length, 0);
    expect(total).toBeGreaterThan(WRITERS * KILLS);
  }, 60_000);
});
