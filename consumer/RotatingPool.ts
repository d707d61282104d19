import { setTimeout as sleep } from 'node:timers/promises';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { RotationError } from '../shared/errors.js';
import { DEFAULT_SSL_MODE, type SslMode } from '../shared/kinds/tls.js';
import { scrubError } from '../shared/logging/redaction.js';
import type { RetryPolicy } from '../shared/secrets/retry.js';
import { parseSecretObject } from '../shared/secrets/secretJson.js';
import type { DialectSet } from '../shared/strategies/database/dialect.js';
import type { LoginTarget } from '../shared/strategies/database/driver.js';
import { loginOf, SecretResolver } from '../shared/strategies/database/sessions.js';
import { DatabaseLoginError } from './errors.js';
import {
  type ConsumerLogger,
  type CredentialSnapshot,
  SecretCredentials,
  type SecretCredentialsOptions,
  silentLogger,
} from './SecretCredentials.js';

/** Options every credential-rotating pool takes. */
export interface RotatingPoolOptions
  extends Omit<SecretCredentialsOptions, 'client' | 'acceptPending' | 'logger' | 'retry'> {
  /** Secrets Manager client; default built from the environment (see {@link SecretCredentials}). */
  client?: SecretsManagerClient;
  /**
   * A credential source shared with other pools of the same secret (one cache, one read on
   * a refusal). When given, `secretId` must name the same secret and the cache options are
   * the source's.
   */
  credentials?: SecretCredentials;
  /**
   * Attempts of one operation whose login is refused, and the back-off between them when
   * the re-read secret brought nothing new (full jitter). Default 6 attempts, 50 ms doubling
   * to at most 2 s.
   */
  retry?: Partial<RetryPolicy>;
  /** TLS for secrets with neither `ssl` nor `sslMode`, as the rotation functions' `DEFAULT_SSL_MODE`. */
  defaultSslMode?: SslMode;
  logger?: ConsumerLogger;
}

/** The default retry of a refused login. */
export const DEFAULT_LOGIN_RETRY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 6,
  baseDelayMs: 50,
  maxDelayMs: 2_000,
});

/** What the library counts; read it for metrics. */
export interface RotatingPoolStats {
  /** Logins the database refused (each one retried or reported). */
  refusedLogins: number;
  /** Driver pools built, the first included: one per credential change. */
  poolsBuilt: number;
  /** `GetSecretValue` calls of the credential source. */
  secretReads: number;
}

/** What one database driver contributes to a {@link RotatingPool}. */
export interface PoolDriver<P> {
  /** `PostgreSQL`, `MySQL/MariaDB`: for messages. */
  readonly label: string;
  /** The engines, ports and defaults the rotation functions accept. */
  readonly dialects: DialectSet;
  /** Builds a driver pool that logs in as `login`. */
  create(login: LoginTarget): Promise<P>;
  /** The driver error means "these credentials are refused" (nothing was executed). */
  isLoginRefused(error: unknown): boolean;
  /**
   * Ends a retired pool. Called only once no operation or lease uses it any more: pg's and
   * mysql2's `end()` would strand requests still queued in the pool, or close busy
   * connections.
   */
  end(pool: P): Promise<void>;
}

interface Slot<P> {
  readonly generation: number;
  readonly username: string;
  readonly ready: Promise<P>;
  inUse: number;
  retired: boolean;
  readonly drained: Promise<void>;
  markDrained(): void;
}

/** A pool lent out by {@link RotatingPool.lease}: give it back with `release` exactly once. */
export interface Lease<T> {
  readonly value: T;
  release(): void;
}

/** The secret's user and host: a pending value is used only for the same login (single-user). */
function sameLogin(pending: string, refused: string): boolean {
  try {
    const a = parseSecretObject(pending);
    const b = parseSecretObject(refused);
    return a.username === b.username && a.host === b.host;
  } catch {
    return false;
  }
}

function codeOf(error: unknown): string | undefined {
  const { code, errno } = (error ?? {}) as { code?: unknown; errno?: unknown };
  if (typeof code === 'string' && code !== '') return code;
  return typeof errno === 'number' ? String(errno) : undefined;
}

/**
 * The engine-independent part of the consumer pools: a driver pool per credential
 * generation, swapped when the secret changes, and a retry loop around every operation
 * whose login is refused.
 *
 * - New work always goes to the newest pool; the pool of an older credential is retired:
 *   ended, with its idle connections, as soon as the operations and leases still using it
 *   are done, so connections move to the new credential as soon as the library learns of it.
 * - A refused login (the driver's code: nothing was executed, so a retry is safe) reports
 *   the snapshot to {@link SecretCredentials.refresh} (one shared, rate-limited read), then
 *   retries at once on a new credential, or after a bounded, jittered back-off if the
 *   secret brought nothing new. After `retry.maxAttempts` it throws
 *   {@link DatabaseLoginError}.
 * - Every error that reaches the application is scrubbed of every value read from the
 *   secret; errors other than a refused login are otherwise passed through unchanged
 *   (class, code, SQL state), so the application handles them as before.
 */
export class RotatingPool<P> {
  readonly credentials: SecretCredentials;
  readonly #driver: PoolDriver<P>;
  readonly #resolver: SecretResolver;
  readonly #retry: RetryPolicy;
  readonly #logger: ConsumerLogger;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #retiring = new Set<Promise<void>>();
  #slot: Slot<P> | undefined;
  #ended = false;
  #refusedLogins = 0;
  #poolsBuilt = 0;

  constructor(driver: PoolDriver<P>, options: RotatingPoolOptions) {
    this.#driver = driver;
    this.#logger = options.logger ?? silentLogger;
    this.#sleep = options.sleep ?? ((ms) => sleep(ms));
    this.#retry = { ...DEFAULT_LOGIN_RETRY, ...options.retry };
    this.#resolver = new SecretResolver(driver.dialects, {
      alternating: false,
      defaultSslMode: options.defaultSslMode ?? DEFAULT_SSL_MODE,
    });
    this.credentials =
      options.credentials ??
      new SecretCredentials({
        secretId: options.secretId,
        ...(options.client ? { client: options.client } : {}),
        ...(options.maxAgeSeconds !== undefined ? { maxAgeSeconds: options.maxAgeSeconds } : {}),
        ...(options.minRefreshIntervalMs !== undefined
          ? { minRefreshIntervalMs: options.minRefreshIntervalMs }
          : {}),
        ...(options.refreshBurst !== undefined ? { refreshBurst: options.refreshBurst } : {}),
        ...(options.tryPending !== undefined ? { tryPending: options.tryPending } : {}),
        ...(options.now ? { now: options.now } : {}),
        ...(options.sleep ? { sleep: options.sleep } : {}),
        acceptPending: sameLogin,
        logger: this.#logger,
      });
  }

  /** Counters since the pool was created. */
  get stats(): RotatingPoolStats {
    return {
      refusedLogins: this.#refusedLogins,
      poolsBuilt: this.#poolsBuilt,
      secretReads: this.credentials.reads,
    };
  }

  /**
   * Runs `operation` on the current driver pool, retrying it on a refused login as the
   * class comment describes. `operation` must not have executed anything when the login is
   * refused (true of a pool's `query` and `connect`).
   */
  async run<T>(operation: (pool: P) => Promise<T>): Promise<T> {
    const lease = await this.lease(operation);
    lease.release();
    return lease.value;
  }

  /**
   * Like {@link run}, but the pool stays counted as in use until `release()`: for a
   * connection checked out of the driver pool, which must not be ended under its holder.
   */
  async lease<T>(acquire: (pool: P) => Promise<T>): Promise<Lease<T>> {
    let username = '';
    let refused: unknown;
    for (let attempt = 1; ; attempt++) {
      if (this.#ended) throw new RotationError(`The ${this.#driver.label} pool has been ended`);
      const snapshot = await this.credentials.get();
      const slot = this.#slotFor(snapshot);
      slot.inUse += 1;
      let leased = false;
      try {
        const value = await acquire(await slot.ready);
        leased = true;
        return { value, release: once(() => this.#release(slot)) };
      } catch (error) {
        if (!this.#driver.isLoginRefused(error)) throw this.#scrub(error);
        refused = error;
        username = slot.username;
        this.#refusedLogins += 1;
        this.#logger.warn(`${this.#driver.label} refused the login of user "${username}"`, {
          secretId: this.credentials.secretId,
          stage: snapshot.stage,
          code: codeOf(error),
          attempt,
        });
      } finally {
        if (!leased) this.#release(slot);
      }
      if (attempt >= this.#retry.maxAttempts) break;
      const next = await this.credentials.refresh(snapshot);
      if (next.generation === snapshot.generation) await this.#sleep(this.#backoff(attempt));
    }
    throw new DatabaseLoginError(
      {
        engine: this.#driver.label,
        username,
        code: codeOf(refused),
        attempts: this.#retry.maxAttempts,
      },
      { cause: this.#scrub(refused) },
    );
  }

  /** Ends every driver pool; waits for leased connections to be returned. */
  async end(): Promise<void> {
    this.#ended = true;
    const slot = this.#slot;
    this.#slot = undefined;
    if (slot) this.#retire(slot);
    await Promise.all([...this.#retiring]);
  }

  #slotFor(snapshot: CredentialSnapshot): Slot<P> {
    const active = this.#slot;
    if (active && active.generation >= snapshot.generation) return active;
    // Parse before retiring: a malformed new value must not take the working pool away.
    const secret = this.#resolver.resolve(snapshot.value, snapshot.stage).secret;
    const login = loginOf(secret);
    let markDrained: () => void = () => {};
    const drained = new Promise<void>((resolve) => {
      markDrained = resolve;
    });
    const slot: Slot<P> = {
      generation: snapshot.generation,
      username: login.username,
      ready: this.#driver.create(login),
      inUse: 0,
      retired: false,
      drained,
      markDrained,
    };
    this.#poolsBuilt += 1;
    this.#slot = slot;
    if (active) this.#retire(active);
    return slot;
  }

  #retire(slot: Slot<P>): void {
    slot.retired = true;
    if (slot.inUse === 0) slot.markDrained();
    const done = slot.ready
      .then(async (pool) => {
        await slot.drained;
        await this.#driver.end(pool);
      })
      .catch((error: unknown) => {
        this.#logger.warn(`Could not end a retired ${this.#driver.label} pool`, {
          error: (error as Error).name,
        });
      })
      .finally(() => this.#retiring.delete(done));
    this.#retiring.add(done);
  }

  #release(slot: Slot<P>): void {
    slot.inUse -= 1;
    if (slot.retired && slot.inUse === 0) slot.markDrained();
  }

  #backoff(attempt: number): number {
    const ceiling = Math.min(this.#retry.maxDelayMs, this.#retry.baseDelayMs * 2 ** (attempt - 1));
    return Math.random() * ceiling;
  }

  #scrub<E>(error: E): E {
    return scrubError(error, this.credentials.registry);
  }
}

function once(fn: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    fn();
  };
}
