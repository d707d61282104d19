import { CredentialRejectedError, SecretFormatError } from '../../errors.js';
import type { LoginVerdict } from '../../kinds/CredentialKind.js';
import type { SslMode } from '../database/tls.js';
import type { RedisConnectOptions, RedisConnector, RedisSession } from './connection.js';
import { RedisCommandError, RedisConnectionError, RedisLoginRefusedError } from './errors.js';
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
 * ({@link SecretFormatError}, {@link RedisLoginRefusedError}, {@link RedisConnectionError},
 * ...); returns the parsed secret.
 */
export async function probeRedisLogin(
  secretString: string,
  options: RedisProbeOptions,
): Promise<RedisSecret> {
  const secret = parseRedisSecret(
    secretString,
    { defaultSslMode: options.defaultSslMode },
    options.which ?? 'secret',
  );
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
): Promise<void> {
  try {
    await probeRedisLogin(secretString, options);
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

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** The verdict a failure of {@link probeRedisLogin} means; `undefined` means accepted. */
export function redisLoginVerdict(error: unknown, username?: string): LoginVerdict {
  const who = username !== undefined ? { username } : {};
  if (error === undefined) return { outcome: 'accepted', ...who };
  if (error instanceof SecretFormatError) {
    return { outcome: 'invalid', field: error.field, detail: error.message };
  }
  if (error instanceof RedisLoginRefusedError) {
    return { outcome: 'rejected', detail: error.code ?? 'WRONGPASS', ...who };
  }
  if (error instanceof RedisConnectionError) {
    const detail = error.code ?? 'connection failed';
    if (error.code !== undefined && UNREACHABLE.has(error.code)) {
      return { outcome: 'unreachable', detail, ...who };
    }
    // ioredis reports its own connect timeout without a code.
    if (/ETIMEDOUT|timed? ?out/i.test(error.message)) {
      return { outcome: 'unreachable', detail: 'ETIMEDOUT', ...who };
    }
    return { outcome: 'error', detail, ...who };
  }
  if (error instanceof RedisCommandError) {
    return { outcome: 'error', detail: `${error.operation}: ${error.code ?? 'error'}`, ...who };
  }
  return { outcome: 'error', detail: (error as Error)?.name ?? 'error', ...who };
}
