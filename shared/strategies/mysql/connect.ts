import type { Socket } from 'node:net';
import mysql from 'mysql2';
import { StepTimeoutError } from '../../errors.js';
import { untilAborted } from '../../kinds/abort.js';
import { tlsConnectionOptions } from '../../kinds/tls.js';
import {
  type ConnectOptions,
  type Connector,
  connectFailure,
  type DatabaseSession,
  type LoginTarget,
} from '../database/driver.js';
import { DatabaseConnectionError } from '../database/errors.js';

/** mysql2 escapes values with backslashes: only safe without `NO_BACKSLASH_ESCAPES`. */
const CLEAR_NO_BACKSLASH_ESCAPES =
  "SET SESSION sql_mode = TRIM(BOTH ',' FROM REPLACE(CONCAT(',', @@SESSION.sql_mode, ','), ',NO_BACKSLASH_ESCAPES,', ','))";

/** ER_ACCESS_DENIED_ERROR, ER_ACCESS_DENIED_NO_PASSWORD_ERROR: the credentials are refused. */
const LOGIN_REFUSED = new Set([1045, 1698]);

/**
 * The production {@link Connector} for MySQL and MariaDB, on mysql2. TLS exactly as the
 * secret says (mysql2 fails when TLS is asked for and the server has none; it never
 * downgrades), connect timeout, abort signal destroys the socket. Each session also clears
 * `NO_BACKSLASH_ESCAPES` from its `sql_mode` before its first statement: mysql2 escapes
 * values with backslashes, and that escaping is only safe without the mode.
 */
export const connectMysql: Connector = async (
  target: LoginTarget,
  options: ConnectOptions,
): Promise<DatabaseSession> => {
  const where = `MySQL/MariaDB at ${target.host}:${target.port}`;
  if (options.signal.aborted)
    throw new StepTimeoutError(`Connect to ${where} aborted: the step is about to time out`);
  // mysql2 sends the credentials in its first packet: nothing to open before the gate.
  if (options.authorize) await options.authorize;
  const tls = await tlsConnectionOptions(target.tls, target.host);
  // mysql2 checks the host name only with verifyIdentity; verify-full must have it.
  const ssl = tls
    ? {
        rejectUnauthorized: tls.rejectUnauthorized ?? true,
        verifyIdentity: target.tls.mode === 'verify-full',
        ...(typeof tls.ca === 'string' ? { ca: tls.ca } : {}),
      }
    : undefined;
  const connection = mysql.createConnection({
    host: target.host,
    port: target.port,
    user: target.username,
    password: target.password,
    ...(target.dbname !== undefined ? { database: target.dbname } : {}),
    ...(ssl ? { ssl } : {}),
    connectTimeout: options.connectTimeoutMs,
    multipleStatements: false,
    charset: 'utf8mb4_general_ci',
    // Static row parsers instead of ones compiled with `new Function`: no eval, and the
    // bundle leaves out the code generator (docs/deploy.md#bundle-size).
    disableEval: true,
  });
  connection.on('error', () => {});
  const client = connection.promise();
  try {
    await untilAborted(client.connect(), options.signal);
  } catch (error) {
    connection.destroy();
    const errno = (error as { errno?: number }).errno;
    throw connectFailure(error, {
      where,
      target,
      signal: options.signal,
      loginRefused: errno !== undefined && LOGIN_REFUSED.has(errno),
    });
  }
  const run = async <Row>(sql: string, params?: readonly unknown[]): Promise<Row[]> => {
    try {
      const [rows] = await untilAborted(
        client.query(sql, params ? [...params] : undefined),
        options.signal,
      );
      return (Array.isArray(rows) ? rows : []) as Row[];
    } catch (error) {
      if (!options.signal.aborted) throw error;
      connection.destroy();
      throw new StepTimeoutError(`Query on ${where} aborted: the step is about to time out`, {
        cause: error,
      });
    }
  };
  // Before the first statement rather than at connect: a session that only proves a login
  // (the current user's, in alternating setSecret) then sends none, and the admin waiting
  // for that login starts one round trip sooner.
  let prepared: Promise<void> | undefined;
  const prepare = () => {
    prepared ??= run(CLEAR_NO_BACKSLASH_ESCAPES).then(
      () => undefined,
      (error: unknown) => {
        if (error instanceof StepTimeoutError) throw error;
        throw new DatabaseConnectionError(
          `Could not prepare the session on ${where}`,
          (error as { code?: string }).code,
          { cause: error },
        );
      },
    );
    return prepared;
  };
  const session: DatabaseSession = {
    async query<Row>(sql: string, params?: readonly unknown[]): Promise<Row[]> {
      await prepare();
      return run<Row>(sql, params);
    },
    async ping(): Promise<void> {
      await run('SELECT 1');
    },
    async close(): Promise<void> {
      if (options.signal.aborted) connection.destroy();
      // mysql2's end waits behind a running statement, and never settles once an abort
      // destroyed the connection under it: the abort must end the wait too.
      else await untilAborted(client.end(), options.signal).catch(() => connection.destroy());
    },
    unref: () => socketOf(connection)?.unref(),
    ref: () => socketOf(connection)?.ref(),
  };
  return session;
};

/** mysql2 keeps its socket (TLS or not) on a member it does not type. */
function socketOf(connection: object): Socket | undefined {
  return (connection as { stream?: Socket }).stream;
}
