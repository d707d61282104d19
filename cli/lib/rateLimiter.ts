import { withRetry } from '../../shared/secrets/retry.js';

/**
 * Client-side pacing of Secrets Manager calls for bulk operations. The service's quotas are
 * per account and Region and not adjustable for rotation: RotateSecret and
 * CancelRotateSecret share 50 requests per second; PutSecretValue, UpdateSecret,
 * UpdateSecretVersionStage and the replication operations share another 50 (Secrets Manager
 * User Guide, "Quotas"). A bulk run stays below them by default and backs off when the
 * service still answers `ThrottlingException`.
 */

/** Time source and sleep, injectable so tests need no real time. */
export interface Timing {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** Real time. */
export const realTiming: Timing = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * A token bucket: `ratePerSecond` tokens a second, at most `burst` saved up. `take()`
 * resolves when a token is available; callers are served in order.
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  readonly #timing: Timing;
  #tokens: number;
  #updated: number;
  #queue: Promise<void> = Promise.resolve();

  constructor(ratePerSecond: number, burst = ratePerSecond, timing: Timing = realTiming) {
    if (!(ratePerSecond > 0) || !(burst >= 1)) {
      throw new RangeError('a token bucket needs a positive rate and a burst of at least 1');
    }
    this.#rate = ratePerSecond;
    this.#burst = burst;
    this.#timing = timing;
    this.#tokens = burst;
    this.#updated = timing.now();
  }

  /** Waits for one token. */
  take(): Promise<void> {
    const turn = this.#queue.then(() => this.#takeNow());
    this.#queue = turn;
    return turn;
  }

  async #takeNow(): Promise<void> {
    for (;;) {
      const now = this.#timing.now();
      this.#tokens = Math.min(
        this.#burst,
        this.#tokens + ((now - this.#updated) / 1000) * this.#rate,
      );
      this.#updated = now;
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      await this.#timing.sleep(Math.ceil(((1 - this.#tokens) / this.#rate) * 1000));
    }
  }
}

/** Whether an SDK error is the service throttling the caller. */
export function isThrottling(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return (
    e?.name === 'ThrottlingException' ||
    e?.name === 'TooManyRequestsException' ||
    e?.$metadata?.httpStatusCode === 429
  );
}

/** Options of {@link withThrottlingRetry}. */
export interface ThrottlingRetryOptions {
  /** Attempts in all, the first included (default 6). */
  maxAttempts?: number;
  /** First backoff (default 200 ms); doubles each time, capped at `maxDelayMs` (5 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  timing?: Timing;
  /** Uniform [0, 1); jitter spreads retries of many callers throttled at once. */
  random?: () => number;
  /** Told of each throttled attempt, for progress output. */
  onThrottled?: (attempt: number, delayMs: number) => void;
}

/**
 * Runs `call`, taking a token from `bucket` before each attempt, and retries it on
 * throttling with the project's backoff (`withRetry`: exponential, full jitter); any other
 * error, or throttling past the last attempt, is thrown as it came.
 */
export function withThrottlingRetry<T>(
  bucket: TokenBucket | undefined,
  call: () => Promise<T>,
  options: ThrottlingRetryOptions = {},
): Promise<T> {
  const timing = options.timing ?? realTiming;
  return withRetry(
    async () => {
      await bucket?.take();
      return call();
    },
    {
      policy: {
        maxAttempts: options.maxAttempts ?? 6,
        baseDelayMs: options.baseDelayMs ?? 200,
        maxDelayMs: options.maxDelayMs ?? 5_000,
      },
      retryable: isThrottling,
      sleep: (ms) => timing.sleep(Math.round(ms)),
      ...(options.random ? { random: options.random } : {}),
      onRetry: (_error, attempt, delayMs) => options.onThrottled?.(attempt, Math.round(delayMs)),
    },
  );
}
