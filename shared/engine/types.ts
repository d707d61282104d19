import type { Logger } from '@aws-lambda-powertools/logger';
import type { PasswordPolicy } from '../secrets/passwords.js';

/** The four steps, spelled as Secrets Manager sends them in `Step`. */
export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;

/** One of the four rotation steps. */
export type RotationStep = (typeof ROTATION_STEPS)[number];

/**
 * The event Secrets Manager sends to a rotation function, once per step.
 * `RotationToken` is newer and optional; it is sensitive and only ever passed back to
 * `PutSecretValue`.
 */
export interface RotationEvent {
  Step: RotationStep;
  SecretId: string;
  ClientRequestToken: string;
  RotationToken?: string;
}

/** The logger handed to strategies: Powertools' Logger, with secret values scrubbed. */
export type RotationLogger = Logger;

/**
 * What every strategy hook receives. Values are Secrets Manager `SecretString`s, or for a
 * binary secret its `SecretBinary` bytes as base64 text; read lazily (a hook that does not
 * ask for a value costs no API call) and at most once per invocation.
 */
export interface RotationRequest {
  /** ARN of the secret being rotated. */
  readonly secretId: string;
  /** `ClientRequestToken`: the version id of the value being rotated in. */
  readonly token: string;
  /** The step Secrets Manager asked for; for log context, not for branching. */
  readonly step: RotationStep;
  /** Logger whose every line has secret values scrubbed. */
  readonly logger: RotationLogger;
  /** Aborted shortly before the function would time out: pass it to connects and fetches. */
  readonly signal: AbortSignal;
  /** The `AWSCURRENT` value. Throws if the secret has none. */
  current(): Promise<string>;
  /** The `AWSPREVIOUS` value, or `undefined` when there is no previous version (or it has no value). */
  previous(): Promise<string | undefined>;
  /**
   * Registers a value that must never appear in a log line or error message of this
   * invocation (e.g. an admin password the strategy read itself). Values read through this
   * request are registered already.
   */
  registerSecret(value: string): void;
}

/** Request for {@link RotationStrategy.generatePending}. */
export interface GenerateRequest extends RotationRequest {
  /** A random password under the deployment's password policy (environment + strategy defaults). */
  generatePassword(): Promise<string>;
}

/** Request for the hooks that work on the pending value. */
export interface PendingRequest extends RotationRequest {
  /** The value of the version `token` (the one labelled `AWSPENDING`). */
  pending(): Promise<string>;
}

/**
 * One kind of credential. The engine owns Secrets Manager's protocol (events, labels,
 * idempotency of the bookkeeping); a strategy only knows how to make, apply and check its
 * credential. Every hook may be retried after a crash at any point, so every hook must be
 * idempotent: running it again after a partial or complete earlier run must succeed and
 * leave the same state.
 *
 * @example
 * ```ts
 * export const handler = rotationHandler(new PostgresStrategy(), { serviceName: 'pg' });
 * ```
 */
export interface RotationStrategy {
  /** Short stable name, used in logs and metrics (e.g. `postgres-single-user`). */
  readonly name: string;
  /**
   * Password policy defaults for this credential kind (e.g. PostgreSQL excludes `:`), used
   * where the deployment's environment does not set its own. Validated at start-up.
   */
  readonly passwordDefaults?: Partial<PasswordPolicy>;
  /**
   * Builds the next value from the current one. Called once per rotation unless a crash hits
   * between generation and storage; must not have effects a retry cannot live with (a
   * strategy that mints a key elsewhere must make the mint idempotent on `token`).
   * Returns the new `SecretString`; for a secret whose current value is a `SecretBinary`,
   * the new bytes as base64 (the engine stores them as `SecretBinary`: a binary secret
   * stays binary).
   */
  generatePending(request: GenerateRequest): Promise<string>;
  /**
   * Makes the pending value valid at its target (`setSecret`). Idempotent: if the pending
   * value already works, do nothing. Must leave the target usable with the current value
   * unless the credential kind makes that impossible (single-user passwords).
   */
  apply(request: PendingRequest): Promise<void>;
  /** Proves the pending value works (`testSecret`). Throws if it does not; no side effects. */
  verify(request: PendingRequest): Promise<void>;
  /**
   * Optional clean-up once the pending value is `AWSCURRENT` (`finishSecret`), e.g. revoking
   * a key two generations old. The request shows the labels after the move: `pending()` and
   * `current()` are the new value, `previous()` the one it replaced. Idempotent; also called
   * when finishSecret is retried after the label moved.
   */
  afterPromotion?(request: PendingRequest): Promise<void>;
  /**
   * Other secrets `apply` reads as `AWSCURRENT` (an admin secret its value names), from
   * the pending value. A hint, never a check: when the engine reads the current value by
   * its label it fetches these in the same call (`BatchGetSecretValue`); `apply` still
   * reads them itself, and a value that cannot be parsed here gives an empty list.
   */
  companionSecrets?(pending: string): readonly string[];
}
