import { CredentialRejectedError, RotationError } from '../../errors.js';

/** The provider calls a {@link KeyProvider} makes; named in errors and logs. */
export type ProviderCall = 'mint' | 'test' | 'revoke' | 'list' | 'admin-credential';

/**
 * A call to the key provider failed: a transport error, a timeout, or an HTTP status the
 * call does not accept. Names the call and the status, never a key, a credential or a body
 * (provider error bodies sometimes echo the key they refused).
 */
export class ProviderCallError extends RotationError {
  readonly call: ProviderCall;
  /** HTTP status, when the provider answered at all. */
  readonly status: number | undefined;
  /** True when trying again may succeed (5xx, 429, timeouts, connection errors). */
  readonly retryable: boolean;

  constructor(
    call: ProviderCall,
    problem: string,
    options: { status?: number; retryable: boolean; cause?: unknown },
  ) {
    super(
      `API key provider call "${call}" failed: ${problem}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.call = call;
    this.status = options.status;
    this.retryable = options.retryable;
  }
}

/**
 * The provider answered, but not in the shape its declaration promised (the key or id is
 * not at the configured path). Names the path, never the body.
 */
export class ProviderResponseError extends RotationError {
  readonly call: ProviderCall;
  readonly path: string;

  constructor(call: ProviderCall, path: string, problem: string) {
    super(`API key provider call "${call}": response path "${path}" ${problem}`);
    this.call = call;
    this.path = path;
  }
}

/** The pending key did not authenticate at the provider within the propagation window. */
export class ApiKeyRejectedError extends CredentialRejectedError {}

/**
 * A revocation was refused by a safety rule: the target is the key in `AWSCURRENT` (or, in
 * overlap mode, `AWSPREVIOUS`). Raised instead of cutting clients off.
 */
export class UnsafeRevocationError extends RotationError {
  readonly keyId: string;
  constructor(keyId: string, reason: string) {
    super(`Refusing to revoke provider key ${keyId}: ${reason}`);
    this.keyId = keyId;
  }
}
