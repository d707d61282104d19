import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import {
  randomCredential,
  scriptedRotationFunction,
  uniqueName,
  useLocalSecretsManager,
  useTempDirs,
} from '../helpers/localSecretsManager.js';

const tempDir = useTempDirs('rotator-startup-');
const start = useLocalSecretsManager();

describe('local Secrets Manager: start-up', () => {
  it('answers a RotateSecret sent while the function registry is still loading once the registry is loaded', async () => {
    // Prepare: a secret in a state file, then a restart whose registry loads slowly
    const dir = tempDir();
    const statePath = join(dir, 'state.json');
    const masterKey = randomBytes(32);
    const name = uniqueName('startup');
    const first = await start({ statePath, masterKey });
    first.store.createSecret({ Name: name, SecretString: randomCredential() });
    await first.persist();
    await first.close();
    let early: Promise<unknown> | undefined;

    // Act: the request goes out as soon as the port is known, before the registry exists
    const twin = await start({
      statePath,
      masterKey,
      registry: async (endpoint) => {
        early = endpoint.client
          .send(new RotateSecretCommand({ SecretId: name, RotationLambdaARN: 'slow-loading' }))
          .then(
            (output) => ({ output }),
            (error: unknown) => ({ error: String(error) }),
          );
        // Give the request every chance to be answered before the registry is ready.
        await new Promise((resolve) => setTimeout(resolve, 300));
        return new Map([['slow-loading', scriptedRotationFunction(endpoint.client).fn]]);
      },
    });

    // Assess
    expect(await early).toMatchObject({ output: { Name: name } });
    expect((await twin.rotations.waitFor(name))?.state).toBe('Succeeded');
  });
});
