import { setTimeout as sleep } from 'node:timers/promises';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretRegistry } from '../shared/logging/redaction.js';
import { createSecretsManagerClient } from '../shared/secrets/client.js';
import type { RetryPolicy } from '../shared/secrets/retry.js';
import { AWSCURRENT, AWSPENDING, SecretsGateway } from '../shared/secrets/SecretsGateway.js';
import { CredentialsUnavailableError } from './errors.js';

/**
 * Where the library writes what it does. Powertools' `Logger` fits, as does `console`.
 * Messages name the secret, stage and user; never a value.
 */
export interface ConsumerLogger {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
}

/** Logs nothing: the default. */
export const silentLogger: ConsumerLogger = { debug() {}, info() {}, warn() {} };

/** The stage a credential was read from. */
export type CredentialStage = typeof AWSCURRENT | typeof AWSPENDING;

/**
 * The credential to use now. `generation` grows each time the value to use changes, so a
 * caller that failed with one snapshot can tell whether someone else already moved on.
 */
export interface CredentialSnapshot {
  /** The `SecretString` to log in with. */
  readonly value: string;
  readonly stage: CredentialStage;
  readonly generation: number;
}

/** Options for {@link SecretCredentials}. */
export interface SecretCredentialsOptions {
  /** ARN or name of the secret. */
  secretId: string;
  /**
   * Secrets Manager client. Default: one built from the environment, honouring
   * `AWS_ENDPOINT_URL_SECRETS_MANAGER` (the local twin) like the rotation functions.
   */
  client?: SecretsManagerClient;
  /**
   * How long a value read from AWSCURRENT is used before it is re-read, in the background
   * (the cached value keeps serving meanwhile, and if the read fails). Default 300 s.
   */
  maxAgeSeconds?: number;
  /**
   * Refreshes after a refused login are rate-limited to a burst of `refreshBurst`, then one
   * per `minRefreshIntervalMs` (a token bucket): a refresh asked for sooner waits for the
   * next token, and every caller waiting on it shares the read. Defaults 1000 ms and 3.
   */
  minRefreshIntervalMs?: number;
  refreshBurst?: number;
  /**
   * Whether AWSPENDING may be used when the database refuses an AWSCURRENT that has not
   * changed (a single-user rotation between setSecret and finishSecret); see
   * docs/consumer.md. `acceptPending` narrows it further. Default true.
   */
  tryPending?: boolean;
  /**
   * Whether a pending value may replace the refused one; the database pools accept only a
   * pending value for the same user on the same host (single-user). Default: any.
   */
  acceptPending?: (pending: string, refused: string) => boolean;
  /** Retry policy of each Secrets Manager call (throttling, transient faults). */
  retry?: RetryPolicy;
  logger?: ConsumerLogger;
  /** Clock and sleep, for tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The credentials of one secret, for a long-running application: AWSCURRENT, cached, and
 * re-read when the caller reports that it was refused.
 *
 * - **Cached**: {@link get} answers from memory; after `maxAgeSeconds` it re-reads
 *   AWSCURRENT in the background and keeps serving the cached value until the read lands.
 * - **Single-flight**: every {@link refresh} reporting the same refused snapshot shares
 *   one read; a caller whose snapshot is already outdated gets the newer one at once.
 * - **Rate-limited**: refreshes draw from a token bucket (`refreshBurst` tokens, one more
 *   every `minRefreshIntervalMs`); one asked for with the bucket empty waits for the next
 *   token (with everyone else) rather than reading at once. A login that stays refused
 *   costs one read per interval, not one per query.
 * - **The single-user window**: if the re-read AWSCURRENT is the very value that was
 *   refused, a single-user rotation is between setSecret (the database already has the new
 *   password) and finishSecret (the label has not moved yet); AWSPENDING then holds the
 *   working password and is used.
 *
 * Reads go through the project's Secrets Manager gateway with staged `GetSecretValue`
 * calls (Powertools' cache key ignores the stage, so it cannot serve AWSPENDING beside
 * AWSCURRENT). Every value read is registered in {@link registry} so that errors can be
 * scrubbed of it.
 *
 * @example
 * ```ts
 * const credentials = new SecretCredentials({ secretId: process.env.DB_SECRET_ARN! });
 * const first = await credentials.get();
 * // ... the database refused first.value:
 * const next = await credentials.refresh(first);
 * ```
 */
export class SecretCredentials {
  /** Every value read, in every spelling; for scrubbing errors and logs. */
  readonly registry = new SecretRegistry();
  readonly secretId: string;
  readonly #gateway: SecretsGateway;
  readonly #maxAgeMs: number;
  readonly #minIntervalMs: number;
  readonly #burst: number;
  #tokens: number;
  #tokensAt = Number.NEGATIVE_INFINITY;
  readonly #tryPending: boolean;
  readonly #acceptPending: (pending: string, refused: string) => boolean;
  readonly #logger: ConsumerLogger;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #snapshot: CredentialSnapshot | undefined;
  /** AWSCURRENT as last read (the snapshot may hold AWSPENDING). */
  #current: string | undefined;
  #readAt = Number.NEGATIVE_INFINITY;
  #loading: Promise<string> | undefined;
  #revalidating: Promise<void> | undefined;
  #refreshing: Promise<CredentialSnapshot> | undefined;
  #reads = 0;

  constructor(options: SecretCredentialsOptions) {
    this.secretId = options.secretId;
    this.#gateway = new SecretsGateway({
      client: options.client ?? createSecretsManagerClient(),
      cache: null,
      ...(options.retry ? { retry: options.retry } : {}),
    });
    this.#maxAgeMs = (options.maxAgeSeconds ?? 300) * 1_000;
    this.#minIntervalMs = options.minRefreshIntervalMs ?? 1_000;
    this.#burst = Math.max(1, options.refreshBurst ?? 3);
    this.#tokens = this.#burst;
    this.#tryPending = options.tryPending ?? true;
    this.#acceptPending = options.acceptPending ?? (() => true);
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => sleep(ms));
  }

  /** `GetSecretValue` calls made so far (for metrics and tests). */
  get reads(): number {
    return this.#reads;
  }

  /**
   * The credential to use. The first call reads AWSCURRENT (concurrent first calls share the
   * read); later calls answer from memory and, past `maxAgeSeconds`, start a background
   * re-read. Throws {@link CredentialsUnavailableError} only when nothing was ever read.
   */
  async get(): Promise<CredentialSnapshot> {
    const snapshot = this.#snapshot;
    if (snapshot === undefined) {
      this.#loading ??= this.#readCurrent().finally(() => {
        this.#loading = undefined;
      });
      const current = await this.#loading;
      return this.#snapshot ?? this.#use(current, AWSCURRENT, 'first read');
    }
    if (this.#now() - this.#readAt > this.#maxAgeMs) this.#revalidate();
    return snapshot;
  }

  /**
   * Reports that `refused` was refused and returns the credential to try next: a newer
   * snapshot if one exists or the read finds one, else the same snapshot (the caller backs
   * off and tries again). Shares one read among all callers; rate-limited (see the class).
   */
  async refresh(refused: CredentialSnapshot): Promise<CredentialSnapshot> {
    const latest = this.#snapshot;
    if (latest !== undefined && latest.generation !== refused.generation) return latest;
    this.#refreshing ??= this.#refreshAfter(refused).finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refreshAfter(refused: CredentialSnapshot): Promise<CredentialSnapshot> {
    const wait = this.#takeToken();
    if (wait > 0) await this.#sleep(wait);
    const current = await this.#readCurrent();
    if (current !== refused.value) {
      return this.#use(current, AWSCURRENT, `AWSCURRENT changed after a refused login`);
    }
    const pending = this.#tryPending ? await this.#readPending() : undefined;
    if (
      pending !== undefined &&
      pending !== refused.value &&
      this.#acceptPending(pending, current)
    ) {
      return this.#use(pending, AWSPENDING, 'AWSCURRENT refused and unchanged: using AWSPENDING');
    }
    this.#logger.warn('The refused AWSCURRENT is unchanged and no AWSPENDING replaces it', {
      secretId: this.secretId,
    });
    return this.#snapshot ?? refused;
  }

  /** Takes a token from the refresh bucket; returns how long to wait for it (0: now). */
  #takeToken(): number {
    if (this.#minIntervalMs <= 0) return 0;
    const now = this.#now();
    const refilled = Math.max(0, now - this.#tokensAt) / this.#minIntervalMs;
    this.#tokens = Math.min(this.#burst, this.#tokens + refilled);
    this.#tokensAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    // The next token is spent on waking: the bucket is empty again at that moment.
    const wait = (1 - this.#tokens) * this.#minIntervalMs;
    this.#tokens = 0;
    this.#tokensAt = now + wait;
    return wait;
  }

  #revalidate(): void {
    if (this.#revalidating) return;
    const before = this.#current;
    this.#revalidating = this.#readCurrent()
      .then((current) => {
        // Unchanged AWSCURRENT keeps a snapshot taken from AWSPENDING (the single-user
        // window is still open); a changed one replaces whatever is in use.
        if (current !== before) this.#use(current, AWSCURRENT, 'AWSCURRENT changed');
      })
      .catch((error: unknown) => {
        this.#logger.warn('Could not re-read the secret; keeping the cached value', {
          secretId: this.secretId,
          error: (error as { cause?: Error }).cause?.name ?? (error as Error).name,
        });
      })
      .finally(() => {
        this.#revalidating = undefined;
      });
  }

  #use(value: string, stage: CredentialStage, why: string): CredentialSnapshot {
    const previous = this.#snapshot;
    if (previous?.value === value) {
      this.#snapshot = { ...previous, stage };
      return this.#snapshot;
    }
    this.#snapshot = { value, stage, generation: (previous?.generation ?? 0) + 1 };
    this.#logger.info(`New credential for secret ${this.secretId}: ${why}`, {
      secretId: this.secretId,
      stage,
      generation: this.#snapshot.generation,
    });
    return this.#snapshot;
  }

  async #readCurrent(): Promise<string> {
    const value = await this.#read(AWSCURRENT);
    if (value === undefined) {
      throw new CredentialsUnavailableError(this.secretId, {
        cause: new Error('the secret has no AWSCURRENT value'),
      });
    }
    this.#current = value;
    this.#readAt = this.#now();
    return value;
  }

  async #readPending(): Promise<string | undefined> {
    try {
      return await this.#read(AWSPENDING);
    } catch (error) {
      // A policy may deny AWSPENDING (a VersionStage condition): fall back to AWSCURRENT.
      this.#logger.warn('Could not read AWSPENDING; retrying with AWSCURRENT only', {
        secretId: this.secretId,
        error: (error as { cause?: Error }).cause?.name ?? (error as Error).name,
      });
      return undefined;
    }
  }

  async #read(stage: CredentialStage): Promise<string | undefined> {
    this.#reads += 1;
    let value: string | undefined;
    try {
      value = await this.#gateway.getValueByStage(this.secretId, stage);
    } catch (error) {
      throw new CredentialsUnavailableError(this.secretId, { cause: error });
    }
    this.registry.registerSecretString(value);
    return value;
  }
}
