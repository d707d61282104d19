// First: ioredis's debug output must be off before ioredis loads (it prints AUTH passwords).
import './quietDebug.js';
import { Redis } from 'ioredis';
import { type RotationError, StepTimeoutError } from '../../errors.js';
import { AbortedError, untilAborted } from '../../kinds/abort.js';
import { tlsConnectionOptions } from '../../kinds/tls.js';
import { RedisCommandError, RedisConnectionError, RedisLoginRefusedError } from './errors.js';
import type { RedisLogin } from './secret.js';

/** Per-connection options every connector honours. */
export interface RedisConnectOptions {
  /** Aborts the connect and any running command (the function is about to time out). */
  readonly signal: AbortSignal;
  /** Connect timeout, milliseconds (TCP and TLS handshake). */
  readonly connectTimeoutMs: number;
}

/**
 * The subset of a Redis connection this kind needs: one authenticated connection that
 * sends commands as argument lists. Never pass a password in `args`; this kind sends
 * hashes.
 */
export interface RedisSession {
  /**
   * Sends one command; rejects with {@link RedisCommandError} naming `operation` when the
   * server answers with an error.
   */
  command(operation: string, args: readonly string[]): Promise<unknown>;
  /** Closes the connection; never throws. */
  close(): Promise<void>;
}

/**
 * Opens an authenticated session. Must throw {@link RedisLoginRefusedError} when the server
 * refuses the credentials, {@link RedisConnectionError} (with the reason) for every other
 * connection failure, and `StepTimeoutError` when `signal` aborts. Production passes
 * {@link connectRedis}; unit tests pass fakes.
 */
export type RedisConnector = (
  login: RedisLogin,
  options: RedisConnectOptions,
) => Promise<RedisSession>;

/** The first word of a Redis error reply (`WRONGPASS`, `NOPERM`, `ERR`). */
export function replyCode(error: unknown): string | undefined {
  const message = (error as { message?: unknown })?.message;
  if (typeof message !== 'string') return undefined;
  const word = /^([A-Z][A-Z_-]+)\b/.exec(message)?.[1];
  return word;
}

/**
 * Redis quotes the arguments of a command it does not know ("ERR unknown command 'AUTH',
 * with args beginning with: 'app' '<password>'"), each cut so the list stays under 128
 * characters: an AUTH password, whole or a prefix that whole-value scrubbing cannot find.
 */
const QUOTED_ARGUMENTS = /(with args beginning with:)[^\r\n]*/g;

/**
 * ioredis attaches the failed command, arguments and all, to its reply errors; an `AUTH`
 * carries the password. Redis itself may quote the arguments in the reply (see
 * {@link QUOTED_ARGUMENTS}). Both are removed here: the engine scrubs registered values, but
 * a cut value is a fragment it cannot find, and nothing should rely on it anyway.
 */
function withoutCommand(error: unknown): unknown {
  if (error && typeof error === 'object') {
    const reply = error as { command?: unknown; message?: unknown; stack?: unknown };
    if ('command' in reply) delete reply.command;
    for (const key of ['message', 'stack'] as const) {
      const text = reply[key];
      if (typeof text === 'string' && QUOTED_ARGUMENTS.test(text)) {
        reply[key] = text.replace(QUOTED_ARGUMENTS, '$1 (withheld)');
      }
      QUOTED_ARGUMENTS.lastIndex = 0;
    }
  }
  return error;
}

/**
 * The production {@link RedisConnector}, on ioredis: TLS exactly as the login says (never a
 * plaintext retry), no reconnects, no offline queue, RESP2, and no command before `AUTH`
 * but the connection itself (no `HELLO`, no `CLIENT SETINFO`), so the login's outcome is
 * the `AUTH` reply and nothing else.
 */
export const connectRedis: RedisConnector = async (login, options) => {
  const where = `Redis at ${login.host}:${login.port}`;
  if (options.signal.aborted) {
    throw new StepTimeoutError(`Connect to ${where} aborted: the step is about to time out`);
  }
  const tls = await tlsConnectionOptions(login.tls, login.host);
  const client = new Redis({
    host: login.host,
    port: login.port,
    ...(tls ? { tls } : {}),
    connectTimeout: options.connectTimeoutMs,
    lazyConnect: true,
    protocol: 2,
    enableReadyCheck: false,
    disableClientInfo: true,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    reconnectOnError: () => false,
  });
  // ioredis rejects connect() with a generic "Connection is closed." once it gives up; the
  // reason (ECONNREFUSED, a certificate error) arrives as an error event first. An error
  // event after connect (server restart) must not crash the process either.
  let lastError: unknown;
  client.on('error', (error: unknown) => {
    lastError = error;
  });
  const destroy = () => client.disconnect(false);
  const failed = (error: unknown, stage: 'connect' | 'log in'): RotationError => {
    destroy();
    if (options.signal.aborted || error instanceof AbortedError) {
      return new StepTimeoutError(`${stage} on ${where} aborted: the step is about to time out`, {
        cause: error,
      });
    }
    const cause = withoutCommand(stage === 'connect' ? (lastError ?? error) : error);
    const code = (cause as { code?: string }).code ?? replyCode(cause);
    if (stage === 'log in' && code === 'WRONGPASS') {
      return new RedisLoginRefusedError(
        `${where} refused the login of user "${login.username}" (WRONGPASS)`,
        code,
        { cause },
      );
    }
    const reason = (cause as Error).message;
    return new RedisConnectionError(
      `Could not ${stage} to ${where} as user "${login.username}" (sslMode ${login.tls.mode}): ${stage === 'connect' ? reason : (code ?? 'error')}`,
      code,
      { cause },
    );
  };
  try {
    await untilAborted(client.connect(), options.signal);
  } catch (error) {
    throw failed(error, 'connect');
  }
  try {
    await untilAborted(client.call('AUTH', login.username, login.password), options.signal);
  } catch (error) {
    throw failed(error, 'log in');
  }
  return {
    async command(operation, args) {
      const [name, ...rest] = args;
      if (name === undefined) throw new RedisCommandError(operation, undefined);
      try {
        return await untilAborted(client.call(name, ...rest), options.signal);
      } catch (error) {
        if (options.signal.aborted || error instanceof AbortedError) {
          destroy();
          throw new StepTimeoutError(
            `${operation} on ${where} aborted: the step is about to time out`,
            {
              cause: error,
            },
          );
        }
        const cause = withoutCommand(error);
        throw new RedisCommandError(
          operation,
          replyCode(cause) ?? (cause as { code?: string }).code,
          {
            cause,
          },
        );
      }
    },
    async close() {
      if (options.signal.aborted) {
        destroy();
        return;
      }
      await client.quit().catch(() => destroy());
    },
  };
};
