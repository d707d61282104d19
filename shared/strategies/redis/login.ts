import { CredentialRejectedError } from '../../errors.js';
import type { SslMode } from '../../kinds/tls.js';
import type { VerificationProgress } from '../../kinds/verdict.js';
import type { RedisConnectOptions, RedisConnector, RedisSession } from './connection.js';
import { RedisCommandError, RedisLoginRefusedError } from './errors.js';
import { loginOf, parseRedisSecret, type RedisLogin, type RedisSecret } from './secret.js';

/** What {@link probeRedisLogin} needs besides the secret. */
export interface RedisProbeOptions extends RedisConnectOptions {
  readonly connect: RedisConnector;
  /** TLS mode for secrets with neither `ssl` nor `sslMode`. */
  readonly defaultSslMode: SslMode;
  /** Names the version in messages (`AWSPENDING`). */
  readonly which?: string;
}

/**
 * Proves an open session works: `PING`. A `NOPERM` answer counts as success: the server
 * authenticated the user and its rules merely leave out `PING` (`-@all +@read` does).
 */
export async function ping(session: RedisSession): Promise<void> {
  try {
    await session.command('ping', ['PING']);
  } catch (error) {
    if (error instanceof RedisCommandError && error.code === 'NOPERM') return;
    throw error;
  }
}

/** Opens a session as `login`, runs `work`, and closes the session on every path. */
export async function withRedisSession<T>(
  connect: RedisConnector,
  login: RedisLogin,
  options: RedisConnectOptions,
  work: (session: RedisSession) => Promise<T>,
): Promise<T> {
  const session = await connect(login, options);
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}

/**
 * Opens a session, or returns `undefined` when the server refuses these credentials. Every
 * other failure (network, TLS, timeout) throws: other credentials cannot fix it, and a TLS
 * failure must never turn into a plaintext retry.
 */
export async function tryRedisLogin(
  connect: RedisConnector,
  login: RedisLogin,
  options: RedisConnectOptions,
): Promise<RedisSession | undefined> {
  try {
    return await connect(login, options);
  } catch (error) {
    if (error instanceof RedisLoginRefusedError) return undefined;
    throw error;
  }
}

/**
 * The one login check of this kind, used by `testSecret` (the strategies' `verify`) and by
 * the operator CLI (`redisKind.checkLogin`) alike: parse the secret, build its connection
 * and TLS options, `AUTH`, `PING`. Throws the typed error of the first thing that fails
 * (`SecretFormatError`, {@link RedisLoginRefusedError}, `RedisConnectionError`, ...);
 * returns the parsed secret. `progress.username` is set once the secret is parsed.
 */
export async function probeRedisLogin(
  secretString: string,
  options: RedisProbeOptions,
  progress: VerificationProgress = {},
): Promise<RedisSecret> {
  const secret = parseRedisSecret(
    secretString,
    { defaultSslMode: options.defaultSslMode },
    options.which ?? 'secret',
  );
  progress.username = secret.username;
  await withRedisSession(options.connect, loginOf(secret), options, ping);
  return secret;
}

/**
 * {@link probeRedisLogin} as `testSecret` needs it: a refused login becomes
 * {@link CredentialRejectedError}, every other failure keeps its own type.
 */
export async function verifyRedisLogin(
  secretString: string,
  options: RedisProbeOptions,
  progress: VerificationProgress = {},
): Promise<void> {
  try {
    await probeRedisLogin(secretString, options, progress);
  } catch (error) {
    if (error instanceof RedisLoginRefusedError) {
      throw new CredentialRejectedError(
        `Unable to log into Redis with the ${options.which ?? 'given'} secret value: ${error.message}`,
        { cause: error },
      );
    }
    throw error;
  }
}
