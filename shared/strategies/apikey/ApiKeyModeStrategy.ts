import type { GenerateRequest, PendingRequest } from '../../engine/types.js';

/** An API-key secret's JSON object; fields the rotator does not know are carried over. */
export type ApiKeySecret = Record<string, unknown>;

/**
 * How the keys of one mode (self-issued or provider-issued) are made, applied, checked and
 * retired. {@link ApiKeyStrategy} picks one per secret from the secret's mode and hands it
 * the value it already parsed and checked, so the hooks here hold no mode checks of their
 * own. Every hook must be idempotent, as {@link RotationStrategy}'s contract requires: the
 * engine retries any step after a crash.
 */
export interface ApiKeyModeStrategy {
  /** The next value from the AWSCURRENT one (`createSecret`). */
  generatePending(request: GenerateRequest, current: ApiKeySecret): Promise<ApiKeySecret>;
  /** Makes the pending key valid (`setSecret`); absent when storing it is enough. */
  apply?(request: PendingRequest, pending: ApiKeySecret): Promise<void>;
  /** Proves the pending key works (`testSecret`); throws if it does not. */
  verify(request: PendingRequest, pending: ApiKeySecret): Promise<void>;
  /** Retires keys no longer needed once `promoted` is AWSCURRENT (`finishSecret`). */
  afterPromotion?(request: PendingRequest, promoted: ApiKeySecret): Promise<void>;
}
