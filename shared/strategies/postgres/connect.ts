import pg from 'pg';
import { StepTimeoutError } from '../../errors.js';
import type {
  ConnectOptions,
  Connector,
  DatabaseSession,
  LoginTarget,
} from '../database/driver.js';
import { DatabaseConnectionError, LoginRefusedError } from '../database/errors.js';
import { tlsConnectionOptions } from '../database/tls.js';

/** SQLSTATEs that mean "these credentials are refused" (28P01 invalid_password, 28000). */
const LOGIN_REFUSED = new Set(['28P01', '28000']);

/**
 * The production {@link Connector} for PostgreSQL, on node-postgres. TLS exactly as the
 * secret says (`ssl: false` only for `disable`: pg never downgrades by itself), connect
 * timeout, and the step's abort signal ends the connection.
 */
export const connectPostgres: Connector = async (
  target: LoginTarget,
  options: ConnectOptions,
): Promise<DatabaseSession> => {
  const where = `PostgreSQL at ${target.host}:${target.port}`;
  if (options.signal.aborted)
    throw new StepTimeoutError(`Connect to ${where} aborted: the step is about to time out`);
  const ssl = await tlsConnectionOptions(target.tls, target.host);
  const client = new pg.Client({
    host: target.host,
    port: target.port,
    user: target.username,
    password: target.password,
    ...(target.dbname !== undefined ? { database: target.dbname } : {}),
    ssl: ssl ?? false,
    connectionTimeoutMillis: options.connectTimeoutMs,
    application_name: 'rotator',
  });
  // An error event after connect (server restart) must not crash the process.
  client.on('error', () => {});
  const onAbort = () => {
    client.end().catch(() => {});
  };
  options.signal.addEventListener('abort', onAbort, { once: true });
  try {
    await client.connect();
  } catch (error) {
    options.signal.removeEventListener('abort', onAbort);
    await client.end().catch(() => {});
    if (options.signal.aborted) {
      throw new StepTimeoutError(`Connect to ${where} aborted: the step is about to time out`, {
        cause: error,
      });
    }
    const code = (error as { code?: string }).code;
    const message = (error as Error).message;
    if (code !== undefined && LOGIN_REFUSED.has(code)) {
      throw new LoginRefusedError(
        `${where} refused the login of user "${target.username}": ${message}`,
        code,
        { cause: error },
      );
    }
    throw new DatabaseConnectionError(
      `Could not connect to ${where} as user "${target.username}" (sslMode ${target.tls.mode}): ${message}`,
      code,
      { cause: error },
    );
  }
  return {
    async query<Row>(sql: string, params?: readonly unknown[]): Promise<Row[]> {
      const result = await client.query(sql, params ? [...params] : undefined);
      return result.rows as Row[];
    },
    async close(): Promise<void> {
      options.signal.removeEventListener('abort', onAbort);
      await client.end().catch(() => {});
    },
  };
};
