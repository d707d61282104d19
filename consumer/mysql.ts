import mysql from 'mysql2/promise';
import { tlsConnectionOptions } from '../shared/kinds/tls.js';
import { mysqlDialects } from '../shared/strategies/mysql/MysqlDialect.js';
import { type PoolDriver, RotatingPool, type RotatingPoolOptions } from './RotatingPool.js';

/** mysql2 pool settings, without the login: that comes from the secret. */
export type MysqlPoolConfig = Omit<
  mysql.PoolOptions,
  'host' | 'port' | 'user' | 'password' | 'database' | 'ssl' | 'uri' | 'socketPath'
>;

/** Options for {@link RotatingMysqlPool}. */
export interface MysqlPoolOptions extends RotatingPoolOptions {
  /** Passed to every mysql2 pool the library builds (`connectionLimit`, `idleTimeout`, …). */
  pool?: MysqlPoolConfig;
  /**
   * Closes a connection after this many uses instead of returning it to the pool, as pg's
   * `maxUses` (which `RotatingPgPool` passes to pg). Default: never.
   */
  maxUses?: number;
}

/** ER_ACCESS_DENIED_ERROR, ER_ACCESS_DENIED_NO_PASSWORD_ERROR: a refused login. */
const LOGIN_REFUSED = new Set([1045, 1698]);

/** The mysql2 {@link PoolDriver}: TLS exactly as the secret says, as the rotation functions connect. */
export function mysqlDriver(config: MysqlPoolConfig = {}): PoolDriver<mysql.Pool> {
  return {
    label: 'MySQL/MariaDB',
    dialects: mysqlDialects({}),
    async create(login) {
      const tls = await tlsConnectionOptions(login.tls, login.host);
      return mysql.createPool({
        ...config,
        // conn.end() then closes the connection politely (COM_QUIT) and takes it out of the
        // pool: how maxUses recycles one, without an "aborted connection" on the server.
        gracefulEnd: true,
        host: login.host,
        port: login.port,
        user: login.username,
        password: login.password,
        ...(login.dbname !== undefined ? { database: login.dbname } : {}),
        // mysql2 checks the host name only with verifyIdentity; verify-full must have it.
        ...(tls
          ? {
              ssl: {
                rejectUnauthorized: tls.rejectUnauthorized ?? true,
                verifyIdentity: login.tls.mode === 'verify-full',
                ...(typeof tls.ca === 'string' ? { ca: tls.ca } : {}),
              },
            }
          : {}),
      });
    },
    isLoginRefused: (error) =>
      LOGIN_REFUSED.has((error as { errno?: number } | null)?.errno ?? Number.NaN),
    end: (pool) => pool.end(),
  };
}

/**
 * A MySQL/MariaDB pool whose login comes from a Secrets Manager secret and survives its
 * rotation: `query`, `execute` and `getConnection` behave like mysql2/promise's pool, and
 * a refused login (1045) re-reads the secret once for all callers and retries (see
 * docs/consumer.md).
 *
 * @example
 * ```ts
 * import { RotatingMysqlPool } from 'rotator/consumer';
 *
 * const pool = new RotatingMysqlPool({ secretId: process.env.DB_SECRET_ARN! });
 * const [rows] = await pool.query('SELECT id FROM orders WHERE customer = ?', [customer]);
 * ```
 */
export class RotatingMysqlPool {
  readonly #core: RotatingPool<mysql.Pool>;
  readonly #maxUses: number;
  /** Uses per driver connection (the promise wrapper is new on every checkout). */
  readonly #uses = new WeakMap<object, number>();

  constructor(options: MysqlPoolOptions) {
    this.#core = new RotatingPool(mysqlDriver(options.pool), options);
    this.#maxUses = options.maxUses ?? Number.POSITIVE_INFINITY;
  }

  /** The credential source (shareable with another pool of the same secret). */
  get credentials() {
    return this.#core.credentials;
  }

  /** Counters: refused logins, pools built, secret reads. */
  get stats() {
    return this.#core.stats;
  }

  /** mysql2's `pool.query`, retried on a refused login. */
  query<T extends mysql.QueryResult = mysql.RowDataPacket[]>(
    sql: string,
    values?: mysql.QueryValues,
  ): Promise<[T, mysql.FieldPacket[]]> {
    return this.#core.run((pool) => this.#on(pool, (c) => c.query<T>(sql, values)));
  }

  /** mysql2's `pool.execute` (prepared statement), retried on a refused login. */
  execute<T extends mysql.QueryResult = mysql.RowDataPacket[]>(
    sql: string,
    values?: mysql.ExecuteValues,
  ): Promise<[T, mysql.FieldPacket[]]> {
    return this.#core.run((pool) => this.#on(pool, (c) => c.execute<T>(sql, values)));
  }

  /**
   * mysql2's `pool.getConnection`, retried on a refused login. Release the connection as
   * usual (`connection.release()`); statements on it are not retried.
   */
  async getConnection(): Promise<mysql.PoolConnection> {
    const lease = await this.#core.lease((pool) => pool.getConnection());
    const connection = lease.value;
    const release = connection.release.bind(connection);
    connection.release = () => {
      lease.release();
      this.#giveBack(connection, release);
    };
    return connection;
  }

  /** Ends every pool; waits for checked-out connections to be released. */
  end(): Promise<void> {
    return this.#core.end();
  }

  async #on<T>(pool: mysql.Pool, work: (c: mysql.PoolConnection) => Promise<T>): Promise<T> {
    const connection = await pool.getConnection();
    try {
      return await work(connection);
    } finally {
      this.#giveBack(connection, () => connection.release());
    }
  }

  #giveBack(connection: mysql.PoolConnection, release: () => void): void {
    const uses = (this.#uses.get(connection.connection) ?? 0) + 1;
    this.#uses.set(connection.connection, uses);
    if (uses >= this.#maxUses) connection.end().catch(() => connection.destroy());
    else release();
  }
}
