import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import { connectTimeoutFromEnv } from '../../shared/kinds/environment.js';
import { createAdminSecretSource } from '../../shared/strategies/database/adminSecrets.js';
import { redisKind } from '../../shared/strategies/redis/kind.js';

// Temporary until rotationHandler accepts a CredentialKind (it will validate the
// environment, build the strategy and hand it the gateway's admin reader); then this file
// becomes `export const handler = rotationHandler(redisKind, { serviceName: 'rotator-redis' });`.
redisKind.validateEnvironment(process.env);
const admins = createAdminSecretSource(process.env);

/**
 * Rotates Redis / Valkey 7+ ACL users. `ROTATION_MODE` (`single-user` or
 * `alternating-users`) is required and validated at start-up, with `DEFAULT_SSL_MODE` and
 * `CONNECT_TIMEOUT_MS`. See docs/redis.md.
 */
export const handler = rotationHandler(
  redisKind.createStrategy({
    env: process.env,
    connectTimeoutMs: connectTimeoutFromEnv(process.env),
    adminSecrets: {
      current: (arn, options) =>
        admins.get(arn, {
          forceFetch: options?.forceFetch ?? false,
          ...(options?.signal ? { signal: options.signal } : {}),
        }),
    },
  }),
  { serviceName: 'rotator-redis' },
);
