import { once } from 'node:events';
import type { Socket } from 'node:net';
import pg from 'pg';
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
    // Behind a gate, pg asks for the password when the server requests it: the connection
    // and its backend are ready by then, and nothing of the password has been sent. Under
    // SCRAM only the proof waits (see below); cleartext and MD5 send the password itself.
    password: options.authorize
      ? async () => {
          if (!scram) await options.authorize;
          return target.password;
        }
      : target.password,
    ...(target.dbname !== undefined ? { database: target.dbname } : {}),
    ssl: ssl ?? false,
    // The wait at the gate is bounded by whatever it waits for (another connect's timeout).
    connectionTimeoutMillis: options.connectTimeoutMs * (options.authorize ? 2 : 1),
    application_name: 'rotator',
  });
  // An error event after connect (server restart) must not crash the process.
  client.on('error', () => {});
  let scram = false;
  if (options.authorize) gateScramProof(client, options.authorize, () => (scram = true));
  // pg keeps its socket (TLS or not) on a member it does not type.
  const socket = () =>
    (client as unknown as { connection?: { stream?: Socket } }).connection?.stream;
  // Destroys the socket: pg's end() waits for a server that may never answer.
  const destroy = () => {
    socket()?.destroy();
    client.end().catch(() => {});
  };
  // A gate that closes ends the connection at once, wherever its handshake is. The socket
  // only: pg's end() during a connect leaves client.connect() pending for good.
  options.authorize?.catch(() => socket()?.destroy());
  try {
    await untilAborted(client.connect(), options.signal);
  } catch (error) {
    destroy();
    const code = (error as { code?: string }).code;
    throw connectFailure(error, {
      where,
      target,
      signal: options.signal,
      loginRefused: code !== undefined && LOGIN_REFUSED.has(code),
    });
  }
  return {
    async query<Row>(sql: string, params?: readonly unknown[]): Promise<Row[]> {
      try {
        const result = await untilAborted(
          client.query(sql, params ? [...params] : undefined),
          options.signal,
        );
        // A statement list (simple protocol, no parameters) answers one result per
        // statement: its rows are the last statement's.
        const results = result as pg.QueryResult | pg.QueryResult[];
        const last = Array.isArray(results) ? results[results.length - 1] : results;
        return (last?.rows ?? []) as Row[];
      } catch (error) {
        if (!options.signal.aborted) throw error;
        destroy();
        throw new StepTimeoutError(`Query on ${where} aborted: the step is about to time out`, {
          cause: error,
        });
      }
    },
    /**
     * Resolves once the Terminate message is flushed to the socket, not when the server
     * has closed it too: the backend ends on Terminate, and waiting for its exit cost 7 to
     * 10 ms per session (measured), paid by every step. The rest finishes in the background.
     */
    async close(): Promise<void> {
      if (options.signal.aborted) {
        destroy();
        return;
      }
      const stream = socket();
      const ended = client.end().catch(() => {});
      if (!stream || stream.writableFinished) return ended;
      await Promise.race([ended, once(stream, 'finish').catch(() => {})]);
    },
    unref: () => socket()?.unref(),
    ref: () => socket()?.ref(),
  };
};

/** pg's connection, which it does not type: the messages that prove the password. */
interface PgConnection {
  on(event: 'authenticationSASL', listener: () => void): void;
  sendSCRAMClientFinalMessage(message: string): void;
  /** The cleartext password or MD5 hash. */
  password(password: string): void;
}

/**
 * Under SCRAM, lets the exchange run up to the client proof before `gate` opens: the first
 * message holds only the user name and a nonce, and the proof is derived locally, so
 * nothing that proves the password leaves before the gate opens, and once it does the
 * login costs one round trip instead of two plus the key derivation (about 3 ms of an
 * alternating setSecret, measured). Every message that proves the password (the SCRAM
 * proof, a cleartext password, an MD5 hash) waits for the gate; a gate that closes drops
 * it with the socket.
 */
function gateScramProof(client: pg.Client, gate: Promise<unknown>, onScram: () => void): void {
  const connection = (client as unknown as { connection: PgConnection }).connection;
  // Registered before pg's own listener (attached at connect), so pg asks for the password
  // knowing the method.
  connection.on('authenticationSASL', onScram);
  const behindGate =
    (send: (message: string) => void) =>
    (message: string): void => {
      gate.then(
        () => send(message),
        () => {},
      );
    };
  connection.sendSCRAMClientFinalMessage = behindGate(
    connection.sendSCRAMClientFinalMessage.bind(connection),
  );
  // pg keeps the password once asked for it: a server that asks for SCRAM, then for the
  // password in clear or MD5, must not get it before the gate opens either.
  connection.password = behindGate(connection.password.bind(connection));
}
