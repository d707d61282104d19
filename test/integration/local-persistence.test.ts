import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InternalServiceError,
  InvalidRequestException,
  PutSecretValueCommand,
  RotateSecretCommand,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it } from 'vitest';
import { loadMasterKey, MASTER_KEY_ENV } from '../../local/secrets-manager/masterKey.js';
import { StateFile } from '../../local/secrets-manager/persistence.js';
import type { RotationEvent } from '../../shared/engine/types.js';
import {
  randomCredential,
  randomValue,
  scriptedRotationFunction,
  uniqueName,
  useLocalSecretsManager,
  versionWith,
} from '../helpers/localSecretsManager.js';

const dirs: string[] = [];
// Before the twins: hooks run in reverse, so the twins close before their folders go.
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const start = useLocalSecretsManager();

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rotator-local-'));
  dirs.push(dir);
  return dir;
}

/** Every encoding under which a value could leak into a JSON file. */
function encodings(value: string | Buffer): string[] {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
  const forms = [bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex')];
  if (!Buffer.isBuffer(value)) forms.push(value, JSON.stringify(value).slice(1, -1));
  return forms;
}

describe('local Secrets Manager: encrypted state file', () => {
  it('restores secrets, versions, labels, tags and rotation configuration after a restart on the same file', async () => {
    // Prepare
    const dir = tempDir();
    const statePath = join(dir, 'state.json');
    const masterKey = randomBytes(32);
    const first = await start({ statePath, masterKey });
    const name = uniqueName('persist');
    const v1 = randomValue();
    const v2 = randomValue();
    const binary = randomBytes(40);
    const { ARN } = await first.client.send(
      new CreateSecretCommand({ Name: name, SecretString: v1 }),
    );
    await first.client.send(new PutSecretValueCommand({ SecretId: ARN, SecretString: v2 }));
    await first.client.send(
      new TagResourceCommand({ SecretId: ARN, Tags: [{ Key: 'k', Value: 'v' }] }),
    );
    const bin = await first.client.send(
      new CreateSecretCommand({ Name: uniqueName('bin'), SecretBinary: binary }),
    );
    const before = await first.client.send(new DescribeSecretCommand({ SecretId: ARN }));
    await first.close();
    // Act
    const second = await start({ statePath, masterKey });
    // Assess
    const after = await second.client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(after.ARN).toBe(ARN);
    expect(after.VersionIdsToStages).toEqual(before.VersionIdsToStages);
    expect(after.Tags).toEqual([{ Key: 'k', Value: 'v' }]);
    expect(after.CreatedDate).toEqual(before.CreatedDate);
    expect(
      (await second.client.send(new GetSecretValueCommand({ SecretId: ARN }))).SecretString,
    ).toBe(v2);
    expect(
      (
        await second.client.send(
          new GetSecretValueCommand({ SecretId: ARN, VersionStage: 'AWSPREVIOUS' }),
        )
      ).SecretString,
    ).toBe(v1);
    const gotBinary = await second.client.send(new GetSecretValueCommand({ SecretId: bin.ARN }));
    expect(Buffer.from(gotBinary.SecretBinary as Uint8Array).equals(binary)).toBe(true);
  });

  it('makes every acknowledged write durable before the response: the file holds it while the twin still runs', async () => {
    const dir = tempDir();
    const statePath = join(dir, 'state.json');
    const masterKey = randomBytes(32);
    const twin = await start({ statePath, masterKey });
    const value = randomValue();
    const { ARN } = await twin.client.send(
      new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
    );
    const put = await twin.client.send(
      new PutSecretValueCommand({ SecretId: ARN, SecretString: value }),
    );
    const onDisk = new StateFile(statePath, masterKey).load();
    const secret = onDisk?.secrets.find((s) => s.arn === ARN);
    const version = secret?.versions.find((v) => v.versionId === put.VersionId);
    expect(version?.stages).toEqual(['AWSCURRENT']);
    expect(version?.value).toEqual({ kind: 'string', text: value });
  });

  it('never writes a plaintext secret value (nor RotationToken) to the file', async () => {
    const dir = tempDir();
    const statePath = join(dir, 'state.json');
    const masterKey = randomBytes(32);
    const rotationTokens: string[] = [];
    const rotated = randomCredential();
    const twin = await start({
      statePath,
      masterKey,
      registry: ({ client }) => {
        const script = scriptedRotationFunction(client, { newValue: () => rotated });
        return new Map([
          [
            'fn',
            (event: RotationEvent, context) => {
              rotationTokens.push(event.RotationToken as string);
              return script.fn(event, context);
            },
          ],
        ]);
      },
    });
    const strings = [randomCredential(), randomValue(), randomValue(64)];
    const binary = randomBytes(64);
    const { ARN } = await twin.client.send(
      new CreateSecretCommand({ Name: uniqueName(), SecretString: strings[0] }),
    );
    for (const s of strings.slice(1))
      await twin.client.send(new PutSecretValueCommand({ SecretId: ARN, SecretString: s }));
    await twin.client.send(new CreateSecretCommand({ Name: uniqueName(), SecretBinary: binary }));
    await twin.client.send(new RotateSecretCommand({ SecretId: ARN, RotationLambdaARN: 'fn' }));
    await twin.rotations.settled();
    await twin.close();
    const file = readFileSync(statePath, 'utf8');
    expect(rotationTokens).toHaveLength(4);
    expect(JSON.parse(file)).toHaveProperty('secrets');
    for (const secret of [...strings, rotated, binary, ...rotationTokens, masterKey]) {
      for (const form of encodings(secret)) expect(file.includes(form)).toBe(false);
    }
    const password = (JSON.parse(rotated) as { password: string }).password;
    expect(file.includes(password)).toBe(false);
  });

  it('refuses a state file written under another master key, and a tampered one', async () => {
    const dir = tempDir();
    const statePath = join(dir, 'state.json');
    const masterKey = randomBytes(32);
    const twin = await start({ statePath, masterKey });
    await twin.client.send(
      new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
    );
    await twin.close();
    await expect(start({ statePath, masterKey: randomBytes(32) })).rejects.toThrow(
      /different master key/,
    );
    const file = JSON.parse(readFileSync(statePath, 'utf8')) as {
      secrets: { versions: { value?: { envelope: { ciphertext: string } } }[] }[];
    };
    const envelope = file.secrets[0]?.versions[0]?.value?.envelope;
    if (!envelope) throw new Error('expected an encrypted version in the state file');
    const bytes = Buffer.from(envelope.ciphertext, 'base64');
    bytes[0] = (bytes[0] ?? 0) ^ 0xff;
    envelope.ciphertext = bytes.toString('base64');
    writeFileSync(statePath, JSON.stringify(file));
    await expect(start({ statePath, masterKey })).rejects.toThrow(/could not be decrypted/);
  });

  it(`reads the master key from ${MASTER_KEY_ENV}, else from a key file it creates with mode 0600`, () => {
    const dir = tempDir();
    const keyFile = join(dir, 'nested', 'master.key');
    const fromEnv = randomBytes(32);
    expect(
      loadMasterKey({ env: { [MASTER_KEY_ENV]: fromEnv.toString('base64') }, keyFile }).equals(
        fromEnv,
      ),
    ).toBe(true);
    const generated = loadMasterKey({ env: {}, keyFile, generate: true });
    expect(generated).toHaveLength(32);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(loadMasterKey({ env: {}, keyFile }).equals(generated)).toBe(true);
    expect(() =>
      loadMasterKey({ env: { [MASTER_KEY_ENV]: randomBytes(16).toString('base64') } }),
    ).toThrow(/32 bytes/);
  });

  it('marks a rotation interrupted by a shutdown, and RotateSecret resumes it after the restart with the same token', async () => {
    const dir = tempDir();
    const statePath = join(dir, 'state.json');
    const masterKey = randomBytes(32);
    let blocking: ReturnType<typeof scriptedRotationFunction> | undefined;
    const first = await start({
      statePath,
      masterKey,
      registry: ({ client }) => {
        blocking = scriptedRotationFunction(client, { blockAt: 'setSecret' });
        return new Map([['fn', blocking.fn]]);
      },
    });
    const { ARN, VersionId: original } = await first.client.send(
      new CreateSecretCommand({ Name: uniqueName(), SecretString: randomCredential() }),
    );
    const rotated = await first.client.send(
      new RotateSecretCommand({ SecretId: ARN, RotationLambdaARN: 'fn' }),
    );
    await blocking?.reachedBlock;
    const pendingValue = await first.client.send(
      new GetSecretValueCommand({
        SecretId: ARN,
        VersionId: rotated.VersionId,
        VersionStage: 'AWSPENDING',
      }),
    );
    await first.close();
    blocking?.release();
    let resumed: ReturnType<typeof scriptedRotationFunction> | undefined;
    const second = await start({
      statePath,
      masterKey,
      registry: ({ client }) => {
        resumed = scriptedRotationFunction(client);
        return new Map([['fn', resumed.fn]]);
      },
    });
    expect(second.rotations.status(ARN as string)).toMatchObject({
      state: 'Interrupted',
      step: 'setSecret',
    });
    await expect(
      second.client.send(new RotateSecretCommand({ SecretId: ARN })),
    ).rejects.toBeInstanceOf(InvalidRequestException);
    await second.rotations.settled();
    const described = await second.client.send(new DescribeSecretCommand({ SecretId: ARN }));
    expect(resumed?.steps()).toEqual(['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
    expect(new Set(resumed?.invocations.map((i) => i.event.ClientRequestToken))).toEqual(
      new Set([rotated.VersionId]),
    );
    expect(described.VersionIdsToStages).toEqual({
      [original as string]: ['AWSPREVIOUS'],
      [rotated.VersionId as string]: ['AWSCURRENT'],
    });
    expect(versionWith(described.VersionIdsToStages, 'AWSPENDING')).toBeUndefined();
    // The value stored before the shutdown is the one that became current.
    expect(
      (await second.client.send(new GetSecretValueCommand({ SecretId: ARN }))).SecretString,
    ).toBe(pendingValue.SecretString);
  });

  it('does not acknowledge a write it could not make durable: HTTP 500 InternalServiceError', async () => {
    const dir = tempDir();
    const statePath = join(dir, 'sub', 'state.json');
    const twin = await start({ statePath, masterKey: randomBytes(32) });
    await twin.client.send(
      new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
    );
    // Replace the state directory by a plain file: no write can succeed any more.
    rmSync(join(dir, 'sub'), { recursive: true, force: true });
    writeFileSync(join(dir, 'sub'), '');
    const error = await twin.client
      .send(new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }))
      .catch((e) => e);
    expect(error).toBeInstanceOf(InternalServiceError);
    expect(error.$metadata.httpStatusCode).toBe(500);
  });

  it('redacts secret values a failing function quotes in its error before showing or persisting it', async () => {
    const dir = tempDir();
    const statePath = join(dir, 'state.json');
    let leaked = '';
    const twin = await start({
      statePath,
      masterKey: randomBytes(32),
      registry: ({ client }) => {
        const script = scriptedRotationFunction(client);
        return new Map([
          [
            'careless',
            async (event: RotationEvent, context) => {
              if (event.Step !== 'setSecret') return script.fn(event, context);
              const pending = await client.send(
                new GetSecretValueCommand({
                  SecretId: event.SecretId,
                  VersionId: event.ClientRequestToken,
                  VersionStage: 'AWSPENDING',
                }),
              );
              leaked = (JSON.parse(pending.SecretString as string) as { password: string })
                .password;
              throw new Error(`login failed for password ${leaked}`);
            },
          ],
        ]);
      },
    });
    const { ARN } = await twin.client.send(
      new CreateSecretCommand({ Name: uniqueName(), SecretString: randomCredential() }),
    );
    await twin.client.send(
      new RotateSecretCommand({ SecretId: ARN, RotationLambdaARN: 'careless' }),
    );
    await twin.rotations.settled();
    const message = twin.rotations.status(ARN as string)?.message ?? '';
    expect(leaked.length).toBeGreaterThan(8);
    expect(message).toContain('login failed for password [REDACTED]');
    expect(message.includes(leaked)).toBe(false);
    expect(readFileSync(statePath, 'utf8').includes(leaked)).toBe(false);
  });

  it('logs operations and secret ids but never secret values', async () => {
    const lines: string[] = [];
    const value = randomValue();
    const twin = await start({ log: (entry) => lines.push(JSON.stringify(entry)) });
    const { ARN } = await twin.client.send(
      new CreateSecretCommand({ Name: uniqueName(), SecretString: value }),
    );
    await twin.client.send(new GetSecretValueCommand({ SecretId: ARN }));
    await twin.client.send(
      new PutSecretValueCommand({ SecretId: ARN, SecretString: `${value}-2` }),
    );
    expect(lines.some((l) => l.includes('GetSecretValue'))).toBe(true);
    expect(lines.filter((l) => l.includes(value))).toEqual([]);
  });
});
