import type { RotationRequest } from '../../engine/types.js';
import { CredentialRejectedError } from '../../errors.js';
import type { AdminSecretReader } from '../../kinds/CredentialKind.js';
import { firstAdminLogin } from '../../secrets/AdminSecrets.js';
import type { RedisConnectOptions, RedisConnector, RedisSession } from './connection.js';
import { tryRedisLogin } from './login.js';
import { adminLoginOf, type RedisSecret } from './secret.js';

/** What {@link openAdminSession} needs. */
export interface AdminSessionDeps {
  readonly adminSecrets: AdminSecretReader;
  readonly connect: RedisConnector;
  readonly options: RedisConnectOptions;
}

/**
 * A session as the admin named by `rotated.masterarn`. The admin secret and its password
 * are registered for scrubbing before use. A refused login is retried with a fresh read of
 * the admin secret, then with its AWSPENDING value ({@link adminCandidates}).
 */
export async function openAdminSession(
  request: RotationRequest,
  rotated: RedisSecret,
  deps: AdminSessionDeps,
): Promise<RedisSession> {
  const arn = rotated.masterarn;
  if (arn === undefined) {
    throw new CredentialRejectedError('No admin secret: the secret has no masterarn field');
  }
  const session = await firstAdminLogin<ReturnType<typeof adminLoginOf>, RedisSession>({
    reader: deps.adminSecrets,
    secretId: arn,
    signal: request.signal,
    register: (value) => request.registerSecret(value),
    logger: request.logger,
    loginOf: (value) => adminLoginOf(value, rotated),
    tryLogin: (login) => tryRedisLogin(deps.connect, login, deps.options),
  });
  if (session) return session;
  throw new CredentialRejectedError(
    'Unable to log into Redis with the admin secret named by masterarn',
  );
}
