import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { afterEach, describe, expect, it } from 'vitest';
import { localClientConfig } from '../../local/secrets-manager/index.js';
import { MASTER_KEY_ENV } from '../../local/secrets-manager/masterKey.js';
import { localAwsClients } from '../helpers/localAws.js';
import {
  type ChildTwin,
  describeRaw,
  eventually,
  spawnLocalTwin,
} from '../helpers/localSecretsManager.js';

const children: ChildTwin[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const twin of children.splice(0)) {
    if (twin.child.exitCode === null && twin.child.signalCode === null) {
      twin.child.kill('SIGTERM');
      await twin.exited;
    }
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('local Secrets Manager: npm start', () => {
  it('is what the start script runs', () => {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.start).toBe('node --import tsx local/start.ts');
  });

  it("generates a 0600 master key next to the state file, seeds rotator/example, prints how to connect, and rotates it with the project's ExampleStrategy handler without logging values", async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'rotator-start-'));
    dirs.push(dir);
    const statePath = join(dir, 'state.json');
    const env = { ...process.env };
    delete env[MASTER_KEY_ENV];
    // Act
    const twin = await spawnLocalTwin(['--port', '0', '--state', statePath], env);
    children.push(twin);
    const client = new SecretsManagerClient(localClientConfig(twin.url, 'us-east-1'));
    // Assess: start-up
    expect(statSync(`${statePath}.key`).mode & 0o777).toBe(0o600);
    expect(twin.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await eventually(async () => (twin.output().includes('Press Ctrl+C') ? true : undefined));
    expect(twin.output()).toContain(`aws --endpoint-url ${twin.url} secretsmanager list-secrets`);
    expect(twin.output()).toContain(`AWS_ENDPOINT_URL=${twin.url}`);
    expect(twin.output()).toContain('Credentials are NOT checked');
    const seeded = await client.send(new DescribeSecretCommand({ SecretId: 'rotator/example' }));
    expect(seeded.RotationEnabled).toBe(true);
    expect(seeded.RotationLambdaARN).toBe(
      'arn:aws:lambda:us-east-1:123456789012:function:rotator-example',
    );
    expect(seeded.RotationRules).toEqual({ AutomaticallyAfterDays: 30 });
    const before = await client.send(new GetSecretValueCommand({ SecretId: 'rotator/example' }));
    // Act: rotate through the real handler
    const rotated = await client.send(new RotateSecretCommand({ SecretId: 'rotator/example' }));
    const status = await eventually(async () => {
      const s = (await describeRaw(twin.url, 'rotator/example')).LocalRotationStatus as
        | { State?: string }
        | undefined;
      return s?.State === 'InProgress' ? undefined : s;
    });
    // Assess
    expect(status).toMatchObject({ State: 'Succeeded' });
    const after = await client.send(new GetSecretValueCommand({ SecretId: 'rotator/example' }));
    expect(after.VersionId).toBe(rotated.VersionId);
    const oldPassword = (JSON.parse(before.SecretString as string) as { password: string })
      .password;
    const newPassword = (JSON.parse(after.SecretString as string) as { password: string }).password;
    expect(newPassword).not.toBe(oldPassword);
    for (const secret of [
      oldPassword,
      newPassword,
      before.SecretString as string,
      after.SecretString as string,
    ]) {
      expect(twin.output().includes(secret)).toBe(false);
      expect(readFileSync(statePath, 'utf8').includes(secret)).toBe(false);
    }
    client.destroy();
  }, 60_000);

  it('serves Parameter Store, KMS and S3 on the same port and keeps them, sealed, across a restart', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'rotator-start-'));
    dirs.push(dir);
    const statePath = join(dir, 'state.json');
    const env = { ...process.env, [MASTER_KEY_ENV]: randomBytes(32).toString('base64') };
    const args = ['--port', '0', '--state', statePath, '--no-seed', '--quiet'];
    const first = await spawnLocalTwin(args, env);
    children.push(first);
    const name = `/start-${randomBytes(4).toString('hex')}/password`;
    const secret = randomBytes(18).toString('base64url');
    const before = localAwsClients({ url: first.url, region: 'us-east-1' });
    await before.ssm.send(
      new PutParameterCommand({ Name: name, Value: secret, Type: 'SecureString' }),
    );
    // Act
    first.child.kill('SIGTERM');
    await first.exited;
    const second = await spawnLocalTwin(args, env);
    children.push(second);
    const after = localAwsClients({ url: second.url, region: 'us-east-1' });
    const got = await after.ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    // Assess
    expect(got.Parameter?.Value).toBe(secret);
    for (const file of [`${statePath}.ssm`, `${statePath}.kms`]) {
      expect(readFileSync(file, 'utf8')).not.toContain(secret);
    }
  }, 60_000);
});
