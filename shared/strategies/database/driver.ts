import { RotationError, StepTimeoutError } from '../../errors.js';
import type { TlsSettings } from '../../kinds/tls.js';
import { DatabaseConnectionError, DatabaseQueryError, LoginRefusedError } from './errors.js';

/** Everything needed to open one login to a database server. */
export interface LoginTarget {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  /** `undefined` = the server's default database. */
  readonly dbname: string | undefined;
  readonly tls: TlsSettings;
}

/** Per-connection options every connector honours. */
export interface ConnectOptions {
  /** Aborts the connect and any running query (the function is about to time out). */
  readonly signal: AbortSignal;
  /** Connect timeout, milliseconds. */
  readonly connectTimeoutMs: number;
  /**
   * When set, the credentials are not sent before it resolves, and the connect fails with
   * its reason when it rejects. A driver may open the connection meanwhile (PostgreSQL: up
   * to the server's password request, or under SCRAM up to the client proof, which proves
   * the password and is sent only once it resolves) or wait for it first.
   */
  readonly authorize?: Promise<unknown>;
}

/**
 * The subset of a driver connection the strategies need (kysely's "the subset of pg's Pool
 * that kysely needs"). Values in `params` are sent the driver's way (bound for pg, escaped
 * client-side for mysql2); never pass a password there, the dialects send hashes.
 */
export interface DatabaseSession {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Closes the connection; never throws. */
  close(): Promise<void>;
  /**
   * Optional: runs `SELECT 1` as it is, before anything a session prepares for statements
   * that carry values (MySQL's `sql_mode`): a probe has nothing to escape, and one round
   * trip proves the session runs statements.
   */
  ping?(): Promise<void>;
  /** Optional: lets the process exit while the session is kept idle (the socket's `unref`). */
  unref?(): void;
  /** Optional: undoes {@link unref} when a kept session is lent again. */
  ref?(): void;
}

/**
 * Opens a session. Must throw `LoginRefusedError` when the server refuses the credentials,
 * `DatabaseConnectionError` (with the reason) for every other connection failure, and
 * `StepTimeoutError` when `signal` aborts. Production passes the pg / mysql2 connectors,
 * unit tests pass fakes.
 */
export type Connector = (target: LoginTarget, options: ConnectOptions) => Promise<DatabaseSession>;

/** Default connect timeout, as AWS's functions (`connect_timeout=5`); the same for every kind. */
export { DEFAULT_CONNECT_TIMEOUT_MS } from '../../kinds/environment.js';

/**
 * Runs one statement, wrapping a driver failure in {@link DatabaseQueryError} naming
 * `operation` (the driver error, which may quote SQL, becomes the scrubbed `cause`).
 */
export async function runQuery<Row = Record<string, unknown>>(
  session: DatabaseSession,
  operation: string,
  sql: string,
  params?: readonly unknown[],
): Promise<Row[]> {
  try {
    return await session.query<Row>(sql, params);
  } catch (error) {
    throw queryFailure(operation, error);
  }
}

/** The typed error for a statement that failed during `operation` (a RotationError as is). */
export function queryFailure(operation: string, error: unknown): Error {
  if (error instanceof RotationError) return error;
  const code = (error as { code?: unknown }).code;
  return new DatabaseQueryError(
    operation,
    typeof code === 'string' || typeof code === 'number' ? String(code) : undefined,
    { cause: error },
  );
}

/**
 * The typed error for a connect that failed: the step's abort ({@link StepTimeoutError}), a
 * refused login ({@link LoginRefusedError}, when `loginRefused` says the driver's code means
 * that) or anything else, unreachable host and TLS failures included
 * ({@link DatabaseConnectionError}). Messages name the target and user, never the password.
 */
export function connectFailure(
  error: unknown,
  context: { where: string; target: LoginTarget; signal: AbortSignal; loginRefused: boolean },
): RotationError {
  const { where, target } = context;
  if (context.signal.aborted) {
    return new StepTimeoutError(`Connect to ${where} aborted: the step is about to time out`, {
      cause: error,
    });
  }
  const code = (error as { code?: string }).code;
  const message = (error as Error).message;
  if (context.loginRefused) {
    return new LoginRefusedError(
      `${where} refused the login of user "${target.username}": ${message}`,
      code,
      { cause: error },
    );
  }
  return new DatabaseConnectionError(
    `Could not connect to ${where} as user "${target.username}" (sslMode ${target.tls.mode}): ${message}`,
    code,
    { cause: error },
  );
}
