import { SecretFormatError } from '../../errors.js';
import { parseSecretObject } from '../../secrets/secretJson.js';
import type { DatabaseDialect, DialectSet } from './dialect.js';
import {
  type ConnectOptions,
  type DatabaseSession,
  DEFAULT_CONNECT_TIMEOUT_MS,
  type LoginTarget,
} from './driver.js';
import { LoginRefusedError } from './errors.js';
import { type DatabaseSecret, parseDatabaseSecret } from './secret.js';
import { DEFAULT_SSL_MODE, type SslMode } from './tls.js';

/** Options shared by both database strategies. */
export interface DatabaseStrategyOptions {
  /** Connect timeout in milliseconds; default 5000 (AWS's functions use 5 s). */
  connectTimeoutMs?: number;
  /** TLS mode for secrets with neither `ssl` nor `sslMode`; default `verify-full`. */
  defaultSslMode?: SslMode;
}

/** A parsed secret and the dialect its `engine` selects. */
export interface ResolvedSecret {
  readonly secret: DatabaseSecret;
  readonly dialect: DatabaseDialect;
}

/** Parses secrets of one function and picks each one's dialect by its `engine` field. */
export class SecretResolver {
  readonly #dialects: DialectSet;
  readonly #mode: { requireEngine: boolean; requireMasterArn: boolean; defaultSslMode: SslMode };

  constructor(dialects: DialectSet, mode: { alternating: boolean; defaultSslMode?: SslMode }) {
    this.#dialects = dialects;
    this.#mode = {
      requireEngine: mode.alternating,
      requireMasterArn: mode.alternating,
      defaultSslMode: mode.defaultSslMode ?? DEFAULT_SSL_MODE,
    };
  }

  /** Parses `secretString`; `which` names the version in error messages. */
  resolve(secretString: string, which: string): ResolvedSecret {
    const fields = parseSecretObject(secretString);
    const engine = typeof fields.engine === 'string' ? fields.engine : this.#dialects.defaultEngine;
    const dialect = Object.hasOwn(this.#dialects.byEngine, engine)
      ? this.#dialects.byEngine[engine]
      : undefined;
    const engines = Object.keys(this.#dialects.byEngine);
    if (dialect === undefined) {
      throw new SecretFormatError(
        'engine',
        `must be one of ${engines.join(', ')} in the ${which} value`,
      );
    }
    const secret = parseDatabaseSecret(
      secretString,
      {
        engines,
        defaultEngine: this.#dialects.defaultEngine,
        defaultPort: dialect.secretDefaults.defaultPort,
        ...(dialect.secretDefaults.defaultDbname !== undefined
          ? { defaultDbname: dialect.secretDefaults.defaultDbname }
          : {}),
        requireEngine: this.#mode.requireEngine,
        requireMasterArn: this.#mode.requireMasterArn,
        defaultSslMode: this.#mode.defaultSslMode,
      },
      which,
    );
    return { secret, dialect };
  }
}

/** The login a secret describes. */
export function loginOf(secret: DatabaseSecret): LoginTarget {
  return {
    host: secret.host,
    port: secret.port,
    username: secret.username,
    password: secret.password,
    dbname: secret.dbname,
    tls: secret.tls,
  };
}

/** Connect options from the strategy options and the step's abort signal. */
export function connectOptions(
  options: DatabaseStrategyOptions,
  signal: AbortSignal,
): ConnectOptions {
  return { signal, connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS };
}

/**
 * Opens a session, or returns `undefined` when the server refuses these credentials. Every
 * other failure (network, TLS, timeout) throws: trying other credentials cannot fix it, and
 * a TLS failure must never turn into a plaintext retry.
 */
export async function tryLogin(
  dialect: DatabaseDialect,
  target: LoginTarget,
  options: ConnectOptions,
): Promise<DatabaseSession | undefined> {
  try {
    return await dialect.connect(target, options);
  } catch (error) {
    if (error instanceof LoginRefusedError) return undefined;
    throw error;
  }
}

/** Opens a session, runs `work`, and closes the session on every path. */
export async function withSession<T>(
  dialect: DatabaseDialect,
  target: LoginTarget,
  options: ConnectOptions,
  work: (session: DatabaseSession) => Promise<T>,
): Promise<T> {
  const session = await dialect.connect(target, options);
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}
