import { CredentialRejectedError, SecretFormatError } from '../../errors.js';
import { DEFAULT_SSL_MODE, type SslMode } from '../../kinds/tls.js';
import type { VerificationProgress } from '../../kinds/verdict.js';
import { parseSecretObject } from '../../secrets/secretJson.js';
import type { DatabaseDialect, DialectSet } from './dialect.js';
import {
  type ConnectOptions,
  type DatabaseSession,
  DEFAULT_CONNECT_TIMEOUT_MS,
  type LoginTarget,
} from './driver.js';
import { LoginRefusedError } from './errors.js';
import {
  type DatabaseFieldProblem,
  type DatabaseSecret,
  type DatabaseSecretSchema,
  databaseFieldProblems,
  parseDatabaseSecret,
} from './secret.js';

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
    const dialect = this.#dialect(engine);
    if (dialect === undefined) {
      throw new SecretFormatError(
        'engine',
        `must be one of ${Object.keys(this.#dialects.byEngine).join(', ')} in the ${which} value`,
      );
    }
    return { secret: parseDatabaseSecret(secretString, this.#schema(dialect), which), dialect };
  }

  /**
   * Every problem of a parsed secret's fields, with the checks {@link resolve} applies (for
   * operator tools, which report them all rather than the first).
   */
  fieldProblems(fields: Readonly<Record<string, unknown>>, which: string): DatabaseFieldProblem[] {
    const engine = typeof fields.engine === 'string' ? fields.engine : this.#dialects.defaultEngine;
    const dialect =
      this.#dialect(engine) ?? this.#dialect(this.#dialects.defaultEngine) ?? this.#anyDialect();
    return databaseFieldProblems(fields, this.#schema(dialect), which);
  }

  #dialect(engine: string): DatabaseDialect | undefined {
    return Object.hasOwn(this.#dialects.byEngine, engine)
      ? this.#dialects.byEngine[engine]
      : undefined;
  }

  #anyDialect(): DatabaseDialect {
    const first = Object.values(this.#dialects.byEngine)[0];
    if (!first) throw new Error(`dialect set ${this.#dialects.name} has no dialect`);
    return first;
  }

  #schema(dialect: DatabaseDialect): DatabaseSecretSchema {
    return {
      engines: Object.keys(this.#dialects.byEngine),
      defaultEngine: this.#dialects.defaultEngine,
      defaultPort: dialect.secretDefaults.defaultPort,
      ...(dialect.secretDefaults.defaultDbname !== undefined
        ? { defaultDbname: dialect.secretDefaults.defaultDbname }
        : {}),
      requireEngine: this.#mode.requireEngine,
      requireMasterArn: this.#mode.requireMasterArn,
      defaultSslMode: this.#mode.defaultSslMode,
    };
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
export function tryLogin(
  dialect: DatabaseDialect,
  target: LoginTarget,
  options: ConnectOptions,
): Promise<DatabaseSession | undefined> {
  return refusedAsUndefined(dialect.connect(target, options));
}

/** `login`'s session, or `undefined` when it fails with {@link LoginRefusedError}. */
export async function refusedAsUndefined<S>(login: Promise<S>): Promise<S | undefined> {
  try {
    return await login;
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

/**
 * `testSecret`'s check, shared with operator tools: parses `secretString` with `resolver`,
 * logs in and runs the dialect's harmless probe. A refused login becomes
 * {@link CredentialRejectedError}; `progress.username` is set once the secret is parsed.
 */
export async function verifySecretLogin(
  resolver: SecretResolver,
  secretString: string,
  which: string,
  options: ConnectOptions,
  progress: VerificationProgress = {},
): Promise<void> {
  const { secret, dialect } = resolver.resolve(secretString, which);
  progress.username = secret.username;
  const target = loginOf(secret);
  try {
    await withSession(dialect, target, options, (session) => dialect.probe(session));
  } catch (error) {
    if (error instanceof LoginRefusedError) {
      throw new CredentialRejectedError(
        `Unable to log into ${dialect.label} with the ${which} value of user "${target.username}"`,
        { cause: error },
      );
    }
    throw error;
  }
}
