import { createHash, timingSafeEqual } from 'node:crypto';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { RotationError } from '../shared/errors.js';

/** Which stored key a presented key matched. */
export type ApiKeyStage = 'AWSCURRENT' | 'AWSPREVIOUS';

/** The answer of {@link ApiKeyVerifier.verify}. */
export type ApiKeyCheck = { valid: true; stage: ApiKeyStage } | { valid: false };

/** The verifier could not read the secret (not: the key was wrong). Never names a value. */
export class ApiKeyVerifierError extends RotationError {}

/** Options for {@link ApiKeyVerifier}. */
export interface ApiKeyVerifierOptions {
  /** ARN or name of the secret the rotator rotates. */
  secretId: string;
  /** Client to read with; Powertools builds a default one when absent. */
  client?: SecretsManagerClient;
  /** JSON field holding the key; default `apiKey`. `null`: the whole `SecretString` is the key. */
  field?: string | null;
  /** How long the stored keys are trusted before they are re-read; default 60 s. */
  maxAgeSeconds?: number;
  /**
   * A key that matches nothing triggers one fresh read (it may be a key rotated in since the
   * last read), at most this often, so a flood of wrong keys cannot hammer Secrets Manager.
   * Default 5000 ms.
   */
  minRefreshIntervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

interface Snapshot {
  current: Buffer | undefined;
  previous: Buffer | undefined;
}

const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** Longest key we bother hashing; anything longer is refused without work. */
const MAX_PRESENTED_LENGTH = 4_096;

function isNotFound(error: unknown): boolean {
  const names = [
    (error as { name?: string })?.name,
    (error as { cause?: { name?: string } })?.cause?.name,
  ];
  return names.includes('ResourceNotFoundException') || names.includes('ParameterNotFoundError');
}

/**
 * The consumer side of API-key rotation: a service that checks incoming API keys accepts the
 * key in `AWSCURRENT` and the one in `AWSPREVIOUS`, so clients that have not yet re-read the
 * secret keep working through a rotation.
 *
 * Reads go through Powertools' SecretsProvider, one instance per stage: Powertools caches by
 * secret name and transform only, so a single instance would answer the AWSPREVIOUS read
 * from the AWSCURRENT cache entry. Keys are compared as SHA-256 digests with
 * `crypto.timingSafeEqual` (equal lengths, constant time), and both stages are always
 * compared so timing does not tell which one matched.
 *
 * @example
 * ```ts
 * const verifier = new ApiKeyVerifier({ secretId: process.env.API_KEY_SECRET_ARN! });
 * if (!(await verifier.verify(request.headers['x-api-key'])).valid) return { statusCode: 401 };
 * ```
 */
export class ApiKeyVerifier {
  readonly #secretId: string;
  readonly #field: string | null;
  readonly #maxAge: number;
  readonly #minRefreshMs: number;
  readonly #now: () => number;
  readonly #providers: Record<ApiKeyStage, SecretsProvider>;
  #previousMissingUntil = 0;
  #lastForcedAt = Number.NEGATIVE_INFINITY;
  #inflight: Promise<Snapshot> | undefined;
  readonly #digests = new Map<ApiKeyStage, { source: string; digest: Buffer }>();

  constructor(options: ApiKeyVerifierOptions) {
    this.#secretId = options.secretId;
    this.#field = options.field === undefined ? 'apiKey' : options.field;
    this.#maxAge = options.maxAgeSeconds ?? 60;
    this.#minRefreshMs = options.minRefreshIntervalMs ?? 5_000;
    this.#now = options.now ?? Date.now;
    const config = options.client ? { awsSdkV3Client: options.client } : {};
    this.#providers = {
      AWSCURRENT: new SecretsProvider(config),
      AWSPREVIOUS: new SecretsProvider(config),
    };
  }

  /**
   * Checks `presented` against the current and previous keys. Never throws for a wrong key
   * (returns `{ valid: false }`); throws {@link ApiKeyVerifierError} when the secret cannot
   * be read, so callers can tell "unauthorised" from "cannot tell" (answer 503, not 401).
   */
  async verify(presented: unknown): Promise<ApiKeyCheck> {
    if (
      typeof presented !== 'string' ||
      presented === '' ||
      presented.length > MAX_PRESENTED_LENGTH
    ) {
      return { valid: false };
    }
    const digest = sha256(presented);
    const first = match(digest, await this.#snapshot(false));
    if (first.valid) return first;
    const now = this.#now();
    if (now - this.#lastForcedAt < this.#minRefreshMs) return first;
    this.#lastForcedAt = now;
    return match(digest, await this.#snapshot(true));
  }

  /** Forgets everything cached, e.g. after the service learns of a rotation. */
  clearCache(): void {
    this.#providers.AWSCURRENT.clearCache();
    this.#providers.AWSPREVIOUS.clearCache();
    this.#digests.clear();
    this.#previousMissingUntil = 0;
  }

  #snapshot(force: boolean): Promise<Snapshot> {
    // Concurrent requests share one read instead of each calling Secrets Manager.
    if (this.#inflight) return this.#inflight;
    const load = Promise.all([this.#read('AWSCURRENT', force), this.#read('AWSPREVIOUS', force)])
      .then(([current, previous]) => ({ current, previous }))
      .finally(() => {
        this.#inflight = undefined;
      });
    this.#inflight = load;
    return load;
  }

  async #read(stage: ApiKeyStage, force: boolean): Promise<Buffer | undefined> {
    // Powertools does not cache "not found"; a secret that was never rotated has no
    // AWSPREVIOUS, and re-asking on every request would cost a call per request.
    if (stage === 'AWSPREVIOUS' && !force && this.#now() < this.#previousMissingUntil)
      return undefined;
    let raw: unknown;
    try {
      raw = await this.#providers[stage].get(this.#secretId, {
        maxAge: this.#maxAge,
        forceFetch: force,
        sdkOptions: { VersionStage: stage },
      });
    } catch (error) {
      if (stage === 'AWSPREVIOUS' && isNotFound(error)) {
        this.#previousMissingUntil = this.#now() + this.#maxAge * 1_000;
        return undefined;
      }
      throw new ApiKeyVerifierError(`Could not read ${stage} of secret ${this.#secretId}`, {
        cause: error,
      });
    }
    if (raw === undefined && stage === 'AWSPREVIOUS') return undefined;
    if (typeof raw !== 'string') {
      throw new ApiKeyVerifierError(`Secret ${this.#secretId} ${stage} has no SecretString`);
    }
    return this.#digestOf(raw, stage);
  }

  #digestOf(secretString: string, stage: ApiKeyStage): Buffer | undefined {
    // Hash each stored value once, not on every request.
    const cached = this.#digests.get(stage);
    if (cached?.source === secretString) return cached.digest;
    let key: unknown = secretString;
    if (this.#field !== null) {
      try {
        key = (JSON.parse(secretString) as Record<string, unknown> | null)?.[this.#field];
      } catch {
        throw new ApiKeyVerifierError(`Secret ${this.#secretId} ${stage} is not JSON`);
      }
    }
    if (typeof key !== 'string' || key === '') {
      throw new ApiKeyVerifierError(
        `Secret ${this.#secretId} ${stage} has no string field "${this.#field}"`,
      );
    }
    const digest = sha256(key);
    this.#digests.set(stage, { source: secretString, digest });
    return digest;
  }
}

function match(digest: Buffer, snapshot: Snapshot): ApiKeyCheck {
  // Both comparisons always run: no early exit that would time which stage matched.
  const isCurrent = snapshot.current !== undefined && timingSafeEqual(digest, snapshot.current);
  const isPrevious = snapshot.previous !== undefined && timingSafeEqual(digest, snapshot.previous);
  if (isCurrent) return { valid: true, stage: 'AWSCURRENT' };
  if (isPrevious) return { valid: true, stage: 'AWSPREVIOUS' };
  return { valid: false };
}
