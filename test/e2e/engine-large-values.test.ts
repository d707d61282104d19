import { randomBytes } from 'node:crypto';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  RotateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import type {
  GenerateRequest,
  PendingRequest,
  RotationStrategy,
} from '../../shared/engine/types.js';
import { ExampleStrategy } from '../../shared/strategies/example/ExampleStrategy.js';
import { captureLogs } from '../helpers/captureLogs.js';
import { useLocalSecretsManager } from '../helpers/localSecretsManager.js';

// Secrets Manager's largest values (65,536 characters of SecretString, 65,536 bytes of
// SecretBinary) through the real engine, the real AWS SDK over HTTP and the local twin.

const logs = captureLogs();
const startTwin = useLocalSecretsManager();
const MAX = 65_536;

/** Every spelling a log line or message could carry a value in. */
function spellings(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  return [value, json, JSON.stringify(json).slice(1, -1), encodeURIComponent(value)];
}

/** A JSON SecretString of exactly 65,536 characters whose `password` the example kind rotates. */
function largeSecretString(): { value: string; password: string } {
  const password = randomBytes(24).toString('base64url');
  const shell = JSON.stringify({ username: 'app', password, certificate: '' });
  // Characters that JSON-, URL- and SQL-escaping change, so every spelling differs.
  const filler = `${randomBytes(MAX).toString('base64')}'%é`;
  const certificate = filler.slice(filler.length - (MAX - shell.length));
  const value = JSON.stringify({ username: 'app', password, certificate });
  return { value, password };
}

/** Opaque bytes: a new random 65,536-byte value each rotation, nothing to apply it to. */
class OpaqueBytesStrategy implements RotationStrategy {
  readonly name = 'opaque-bytes';
  failAt: 'apply' | undefined;

  async generatePending(request: GenerateRequest): Promise<string> {
    const current = Buffer.from(await request.current(), 'base64');
    return randomBytes(current.length).toString('base64');
  }

  async apply(request: PendingRequest): Promise<void> {
    const pending = await request.pending();
    if (this.failAt === 'apply') {
      const hex = Buffer.from(pending, 'base64').toString('hex');
      throw new Error(`target refused ${pending} (hex ${hex})`);
    }
  }

  async verify(request: PendingRequest): Promise<void> {
    if (Buffer.from(await request.pending(), 'base64').length !== MAX) {
      throw new Error('pending value is not 65,536 bytes');
    }
  }
}

async function setup(strategy: RotationStrategy) {
  const twin = await startTwin({
    registry: (endpoint) => {
      const handler = rotationHandler(strategy, { client: endpoint.client, env: {} });
      return new Map([['rotator-large', (event, context) => handler(event, context)]]);
    },
  });
  const client = twin.newClient();
  const functionArn = `arn:aws:lambda:${twin.region}:${twin.accountId}:function:rotator-large`;
  const rotate = async (name: string) => {
    await client.send(new RotateSecretCommand({ SecretId: name, RotationLambdaARN: functionArn }));
    return twin.rotations.waitFor(name);
  };
  return { twin, client, rotate };
}

describe('the largest values rotate, and stay out of every log line and message', () => {
  it('a 65,536-character SecretString rotates through the engine and the twin', async () => {
    // Prepare
    const { client, rotate } = await setup(new ExampleStrategy());
    const { value, password } = largeSecretString();
    expect(value).toHaveLength(MAX);
    const name = `large/${randomBytes(4).toString('hex')}`;
    await client.send(new CreateSecretCommand({ Name: name, SecretString: value }));

    // Act
    const record = await rotate(name);

    // Assess
    expect(record?.state).toBe('Succeeded');
    const current = (await client.send(new GetSecretValueCommand({ SecretId: name })))
      .SecretString as string;
    expect(current).toHaveLength(MAX);
    const next = JSON.parse(current) as { password: string };
    expect(next.password).not.toBe(password);
    expect(logs.lines.length).toBeGreaterThan(0);
    logs.assertNoneContain([value, current, password, next.password].flatMap(spellings));
  });

  it('a step failing with a 65,536-character value in its error: scrubbed in logs and in the twin’s message', async () => {
    // Prepare
    const strategy = new (class extends ExampleStrategy {
      override async apply(request: PendingRequest): Promise<void> {
        const pending = await request.pending();
        throw new Error(`cannot apply ${pending} (was ${JSON.stringify(await request.current())})`);
      }
    })();
    const { twin, client, rotate } = await setup(strategy);
    const { value, password } = largeSecretString();
    const name = `large/${randomBytes(4).toString('hex')}`;
    const { ARN } = await client.send(new CreateSecretCommand({ Name: name, SecretString: value }));

    // Act
    const record = await rotate(name);

    // Assess: the rotation records a message (it used to be lost to a RegExp SyntaxError)
    expect(record?.state).toBe('Failed');
    expect(record?.step).toBe('setSecret');
    const message = twin.rotations.status(ARN as string)?.message ?? '';
    expect(message).toContain('cannot apply [REDACTED] (was "[REDACTED]")');
    for (const spelling of spellings(value)) expect(message.includes(spelling)).toBe(false);
    expect(message.includes(password)).toBe(false);
    const failed = logs.json().find((line) => line.message === 'Rotation step failed');
    expect(JSON.stringify(failed)).toContain('cannot apply [REDACTED]');
    logs.assertNoneContain([value, password].flatMap(spellings));
  });

  it('a 65,536-byte SecretBinary rotates to new bytes, returned as bytes by the SDK', async () => {
    // Prepare
    const { client, rotate } = await setup(new OpaqueBytesStrategy());
    const bytes = randomBytes(MAX);
    const name = `binary/${randomBytes(4).toString('hex')}`;
    await client.send(new CreateSecretCommand({ Name: name, SecretBinary: bytes }));

    // Act
    const record = await rotate(name);

    // Assess
    expect(record?.state).toBe('Succeeded');
    const current = await client.send(new GetSecretValueCommand({ SecretId: name }));
    const previous = await client.send(
      new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPREVIOUS' }),
    );
    expect(current.SecretString).toBeUndefined();
    const next = Buffer.from(current.SecretBinary as Uint8Array);
    expect(next).toHaveLength(MAX);
    expect(next.equals(bytes)).toBe(false);
    expect(Buffer.from(previous.SecretBinary as Uint8Array).equals(bytes)).toBe(true);
    logs.assertNoneContain([bytes, next].flatMap((b) => [b.toString('base64'), b.toString('hex')]));
  });

  it('a SecretBinary quoted by a failing step is scrubbed from logs and the twin’s message', async () => {
    // Prepare
    const strategy = new OpaqueBytesStrategy();
    strategy.failAt = 'apply';
    const { twin, client, rotate } = await setup(strategy);
    const name = `binary/${randomBytes(4).toString('hex')}`;
    const { ARN } = await client.send(
      new CreateSecretCommand({ Name: name, SecretBinary: randomBytes(MAX) }),
    );

    // Act
    const record = await rotate(name);

    // Assess
    expect(record?.state).toBe('Failed');
    const message = twin.rotations.status(ARN as string)?.message ?? '';
    expect(message).toContain('target refused [REDACTED] (hex [REDACTED])');
    const failed = logs.json().find((line) => line.message === 'Rotation step failed');
    expect(JSON.stringify(failed)).toContain('target refused [REDACTED] (hex [REDACTED])');
  });
});
