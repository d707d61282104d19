import { randomBytes } from 'node:crypto';
import { EXAMPLE_FUNCTION_NAME } from './defaultRegistry.js';
import type { LocalSecretsManager } from './index.js';

/** Name of the seeded example secret. */
export const EXAMPLE_SECRET_NAME = 'rotator/example';

/**
 * Seeds `rotator/example` (a JSON secret with a random password) with rotation configured
 * to the `rotator-example` function every 30 days, unless it already exists (state file).
 * Returns the names of the secrets it created.
 */
export async function seedExampleSecrets(twin: LocalSecretsManager): Promise<string[]> {
  if (twin.store.find(EXAMPLE_SECRET_NAME)) return [];
  twin.store.createSecret({
    Name: EXAMPLE_SECRET_NAME,
    Description: 'Example secret rotated by the rotator-example function (local twin seed)',
    SecretString: JSON.stringify({
      username: 'example',
      password: randomBytes(24).toString('base64url'),
    }),
    Tags: [{ Key: 'project', Value: 'rotator' }],
  });
  twin.store.configureRotation(
    EXAMPLE_SECRET_NAME,
    `arn:aws:lambda:${twin.region}:${twin.accountId}:function:${EXAMPLE_FUNCTION_NAME}`,
    { AutomaticallyAfterDays: 30 },
  );
  await twin.persist();
  return [EXAMPLE_SECRET_NAME];
}
