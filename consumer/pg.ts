import pg from 'pg';
import { tlsConnectionOptions } from '../shared/kinds/tls.js';
import { postgresDialects } from '../shared/strategies/postgres/PostgresDialect.js';
import { type PoolDriver, RotatingPool, type RotatingPoolOptions } from './RotatingPool.js';

/** node-postgres pool settings, without the login: that comes from the secret. */
export type PgPoolConfig = Omit<
  pg.PoolConfig,
  'host' | 'port' | 'user' | 'password' | 'database' | 'ssl' | 'connectionString'
>;

/** Options for {@link RotatingPgPool}. */
export interface PgPoolOptions extends RotatingPoolOptions {
  /** Passed to every `pg.Pool` the library builds (`max`, `idleTimeoutMillis`, `maxUses`, …). */
  pool?: PgPoolConfig;
}

/** SQLSTATEs of a refused login: 28P01 invalid_password, 28000 invalid_authorization_specification. */
const LOGIN_REFUSED = new Set(['28P01', '28000']);

/** The node-postgres {@link PoolDriver}: TLS exactly as the secret says, as the rotation functions connect. */
export function pgDriver(config: PgPoolConfig = {}): PoolDriver<pg.Pool> {
  return {
    label: 'PostgreSQL',
    dialects: postgresDialects(),
    async create(login) {
      const ssl = await tlsConnectionOptions(login.tls, login.host);
      const pool = new pg.Pool({
        application_name: 'rotator-consumer',
        ...config,
        host: login.host,
        port: login.port,
        user: login.username,
        password: login.password,
        ...(login.dbname !== undefined ? { database: login.dbname } : {}),
        ssl: ssl ?? false,
      });
      // An idle client's error (server restart) must not crash the process; pg drops it.
      pool.on('error', () => {});
      return pool;
    },
    isLoginRefused: (error) => LOGIN_REFUSED.has((error as { code?: string } | null)?.code ?? ''),
    end: (pool) => pool.end(),
  };
}

/**
 * A PostgreSQL pool whose login comes from a Secrets Manager secret and survives its
 * rotation: `query` and `connect` behave like `pg.Pool`'s, and a refused login (28P01,
 * 28000) re-reads the secret once for all callers and retries (see docs/consumer.md).
 *
 * @example
 * ```ts
 * import { RotatingPgPool } from 'rotator/consumer';
 *
 * const pool = new RotatingPgPool({ secretId: process.env.DB_SECRET_ARN!, pool: { max: 10 } });
 * const { rows } = await pool.query('SELECT id FROM orders WHERE customer = $1', [customer]);
 * ```
 */
export class RotatingPgPool {
  readonly #core: RotatingPool<pg.Pool>;

  constructor(options: PgPoolOptions) {
    this.#core = new RotatingPool(pgDriver(options.pool), options);
  }

  /** The credential source (shareable with another pool of the same secret). */
  get credentials() {
    return this.#core.credentials;
  }

  /** Counters: refused logins, pools built, secret reads. */
  get stats() {
    return this.#core.stats;
  }

  /** `pg.Pool#query`, retried on a refused login. */
  query<R extends pg.QueryResultRow = Record<string, unknown>>(
    text: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.#core.run((pool) => pool.query<R>(text as string, values));
  }

  /**
   * `pg.Pool#connect`, retried on a refused login. Release the client as usual
   * (`client.release()`); statements on it are not retried.
   */
  async connect(): Promise<pg.PoolClient> {
    const lease = await this.#core.lease((pool) => pool.connect());
    const client = lease.value;
    const release = client.release.bind(client);
    client.release = (error?: Error | boolean) => {
      lease.release();
      release(error);
    };
    return client;
  }

  /** Ends every pool; waits for checked-out clients to be released. */
  end(): Promise<void> {
    return this.#core.end();
  }
}
