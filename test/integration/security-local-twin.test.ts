import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it } from 'vitest';
import { referenceRotationFunction } from '../../local/secrets-manager/referenceFunction.js';
import type { RotationEvent } from '../../shared/engine/types.js';
import {
  randomCredential,
  randomValue,
  scriptedRotationFunction,
  uniqueName,
  useLocalSecretsManager,
} from '../helpers/localSecretsManager.js';

const dirs: string[] = [];
// Before the twins: hooks run in reverse, so the twins close before their folders go.
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const start = useLocalSecretsManager();

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rotator-security-'));
  dirs.push(dir);
  return dir;
}

/** True when `text` holds any run of `length` characters of `value` (a partial quote). */
function holdsFragment(text: string, value: string, length = 6): boolean {
  for (let i = 0; i + length <= value.length; i++) {
    if (text.includes(value.slice(i, i + length))) return true;
  }
  return false;
}

describe('local twin: a failing function never puts a secret value into the rotation record', () => {
  it('reference function on a non-JSON value: no fragment of the value in the message or state file', async () => {
    // Prepare
    const statePath = join(tempDir(), 'state.json');
    const twin = await start({
      statePath,
      masterKey: randomBytes(32),
      registry: ({ client }) => new Map([['reference', referenceRotationFunction(client)]]),
    });
    // A letter first, so JSON.parse fails on the first character and quotes the next ten.
    const value = `v${randomValue(30)}`;
    const { ARN } = await twin.client.send(
      new CreateSecretCommand({ Name: uniqueName(), SecretString: value }),
    );

    // Act
    await twin.client.send(
      new RotateSecretCommand({ SecretId: ARN, RotationLambdaARN: 'reference' }),
    );
    await twin.rotations.settled();

    // Assess
    const status = twin.rotations.status(ARN as string);
    expect(status?.state).toBe('Failed');
    expect(status?.step).toBe('createSecret');
    const message = status?.message ?? '';
    expect(holdsFragment(message, value)).toBe(false);
    expect(holdsFragment(readFileSync(statePath, 'utf8'), value)).toBe(false);
  });

  it('a function quoting a JSON.parse error of the value: the quoted snippet is redacted', async () => {
    // Prepare: any function that lets V8's JSON.parse message through (it quotes 10 characters)
    const statePath = join(tempDir(), 'state.json');
    const twin = await start({
      statePath,
      masterKey: randomBytes(32),
      registry: ({ client }) => {
        const script = scriptedRotationFunction(client);
        return new Map([
          [
            'parser',
            async (event: RotationEvent, context) => {
              if (event.Step !== 'setSecret') return script.fn(event, context);
              const { GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
              const current = await client.send(
                new GetSecretValueCommand({ SecretId: event.SecretId }),
              );
              JSON.parse(current.SecretString as string);
            },
          ],
        ]);
      },
    });
    // A letter first, so JSON.parse fails on the first character and quotes the next ten.
    const value = `v${randomValue(30)}`;
    const { ARN } = await twin.client.send(
      new CreateSecretCommand({ Name: uniqueName(), SecretString: value }),
    );

    // Act
    await twin.client.send(new RotateSecretCommand({ SecretId: ARN, RotationLambdaARN: 'parser' }));
    await twin.rotations.settled();

    // Assess
    const message = twin.rotations.status(ARN as string)?.message ?? '';
    expect(message).toContain('SyntaxError');
    expect(holdsFragment(message, value)).toBe(false);
    expect(holdsFragment(readFileSync(statePath, 'utf8'), value)).toBe(false);
  });

  it("redacts the event's RotationToken and other secrets' values a function quotes", async () => {
    // Prepare
    const statePath = join(tempDir(), 'state.json');
    const adminPassword = randomValue();
    let token = '';
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
              token = event.RotationToken ?? '';
              throw new Error(`token ${token} refused; admin login with ${adminPassword} failed`);
            },
          ],
        ]);
      },
    });
    await twin.client.send(
      new CreateSecretCommand({
        Name: uniqueName('admin'),
        SecretString: JSON.stringify({ username: 'admin', password: adminPassword }),
      }),
    );
    const { ARN } = await twin.client.send(
      new CreateSecretCommand({ Name: uniqueName(), SecretString: randomCredential() }),
    );

    // Act
    await twin.client.send(
      new RotateSecretCommand({ SecretId: ARN, RotationLambdaARN: 'careless' }),
    );
    await twin.rotations.settled();

    // Assess
    const message = twin.rotations.status(ARN as string)?.message ?? '';
    const state = readFileSync(statePath, 'utf8');
    expect(token.length).toBeGreaterThanOrEqual(36);
    expect(message).toContain('refused');
    for (const secret of [token, adminPassword]) {
      expect(message.includes(secret)).toBe(false);
      expect(state.includes(secret)).toBe(false);
    }
  });

  it('redacts URL-encoded and JSON-escaped spellings of a value a function quotes', async () => {
    // Prepare: a password with characters that percent- and JSON-encoding change
    const statePath = join(tempDir(), 'state.json');
    const password = `${randomValue()}#&=%"/${randomValue(6)}`;
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
              throw new Error(
                `cannot reach postgres://app:${encodeURIComponent(password)}@db/app with ${JSON.stringify({ password })}`,
              );
            },
          ],
        ]);
      },
    });
    const { ARN } = await twin.client.send(
      new CreateSecretCommand({
        Name: uniqueName(),
        SecretString: JSON.stringify({ username: 'app', password }),
      }),
    );

    // Act
    await twin.client.send(
      new RotateSecretCommand({ SecretId: ARN, RotationLambdaARN: 'careless' }),
    );
    await twin.rotations.settled();

    // Assess
    const message = twin.rotations.status(ARN as string)?.message ?? '';
    const state = readFileSync(statePath, 'utf8');
    expect(message).toContain('cannot reach');
    for (const spelling of [encodeURIComponent(password), JSON.stringify(password).slice(1, -1)]) {
      expect(message.includes(spelling)).toBe(false);
      expect(state.includes(spelling)).toBe(false);
    }
  });

  /** The message a rotation records when its function fails setSecret with `message`. */
  async function failedRotationMessage(secretString: string, message: string): Promise<string> {
    const twin = await start({
      registry: ({ client }) => {
        const script = scriptedRotationFunction(client);
        const failing = async (event: RotationEvent, context: Parameters<typeof script.fn>[1]) => {
          if (event.Step !== 'setSecret') return script.fn(event, context);
          throw new Error(message);
        };
        return new Map([['failing', failing]]);
      },
    });
    const { ARN } = await twin.client.send(
      new CreateSecretCommand({ Name: uniqueName(), SecretString: secretString }),
    );
    await twin.client.send(
      new RotateSecretCommand({ SecretId: ARN, RotationLambdaARN: 'failing' }),
    );
    await twin.rotations.settled();
    return twin.rotations.status(ARN as string)?.message ?? '';
  }

  it('keeps hosts, engines and modes in the message, and still redacts the password', async () => {
    // Prepare: the diagnostics a TLS or connect failure gives name the engine and the host
    const password = randomValue();
    const fields = {
      engine: 'postgres',
      host: `db-${randomBytes(3).toString('hex')}.internal.example`,
      port: 55533,
      dbname: 'appdb',
      sslMode: 'verify-full',
      username: `user_${randomBytes(3).toString('hex')}`,
      password,
    };

    // Act
    const message = await failedRotationMessage(
      JSON.stringify(fields),
      `engine must be one of [postgres], aurora-postgresql; TLS (${fields.sslMode}) to ${fields.host}:${fields.port}/${fields.dbname} failed as ${fields.username} with ${password}`,
    );

    // Assess
    expect(message).toContain('engine must be one of [postgres], aurora-postgresql;');
    expect(message).toContain(
      `TLS (verify-full) to ${fields.host}:55533/appdb failed as ${fields.username} with [REDACTED]`,
    );
    expect(holdsFragment(message, password)).toBe(false);
  });

  it('scrubs a non-JSON SecretString whole', async () => {
    // Prepare
    const value = `host=db.example user=app password=${randomValue()}`;

    // Act
    const message = await failedRotationMessage(value, `cannot use ${value}`);

    // Assess
    expect(message).toContain('cannot use [REDACTED]');
    expect(message.includes(value)).toBe(false);
  });
});
