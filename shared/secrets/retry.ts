import { setTimeout as sleep } from 'node:timers/promises';

/** How the gateway retries a Secrets Manager call. */
export interface RetryPolicy {
  /** Total attempts, first included. */
  maxAttempts: number;
  /** First back-off; doubles each attempt, with full jitter. */
  baseDelayMs: number;
  /** Upper bound of one back-off. */
  maxDelayMs: number;
}

/** Defaults close to the SDK's standard mode, a little more patient on throttling. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 2_000,
});

const RETRYABLE_NAMES = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'RequestThrottled',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalServiceError',
  'InternalFailure',
  'ServiceUnavailable',
  'TimeoutError',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
]);

/** True for throttling and transient faults, false for errors a retry cannot fix. */
export function isRetryable(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const e = error as {
    name?: string;
    code?: string;
    $retryable?: unknown;
    $fault?: string;
    $metadata?: { httpStatusCode?: number };
  };
  if (e.$retryable) return true;
  if (e.name && RETRYABLE_NAMES.has(e.name)) return true;
  if (e.code && RETRYABLE_NAMES.has(e.code)) return true;
  const status = e.$metadata?.httpStatusCode;
  return e.$fault === 'server' || status === 429 || (status !== undefined && status >= 500);
}

/**
 * Runs `call` and retries it on {@link isRetryable} errors with exponential back-off and
 * full jitter. Stops at once when `signal` aborts; the last error is re-thrown.
 */
export async function withRetry<T>(
  call: () => Promise<T>,
  options: {
    policy?: RetryPolicy;
    signal?: AbortSignal;
    onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
    /** Which errors to retry; {@link isRetryable} by default. */
    retryable?: (error: unknown) => boolean;
    /** Clock and jitter, for tests without real time. */
    sleep?: (ms: number) => Promise<void>;
    random?: () => number;
  } = {},
): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const retryable = options.retryable ?? isRetryable;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= policy.maxAttempts || !retryable(error) || options.signal?.aborted) {
        throw error;
      }
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const delay = random() * ceiling;
      options.onRetry?.(error, attempt, delay);
      try {
        await (options.sleep
          ? options.sleep(delay)
          : sleep(delay, undefined, { signal: options.signal }));
      } catch {
        throw error;
      }
    }
  }
}
