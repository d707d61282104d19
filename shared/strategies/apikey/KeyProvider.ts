/**
 * What a key provider can do. Declared by the provider (for the HTTP provider: in its
 * configuration); the strategy picks its overlap mode from it.
 */
export interface ProviderCapabilities {
  /**
   * Most keys the provider lets live at once; `undefined` means no limit. With 3 or more
   * the strategy keeps a full overlap; with 2 it frees the slot of the key two generations
   * old just before minting; with 1 it rotates in single-key mode (see docs/api-keys.md).
   */
  maxLiveKeys?: number;
  /** The provider can list its keys (used for idempotent minting by label and for reconcile). */
  canList: boolean;
  /** The provider honours an idempotency key on mint: the same key returns the same minted key. */
  idempotentMint: boolean;
  /** Keys expire on their own at the provider. */
  keysExpire: boolean;
  /** Key lifetime when {@link keysExpire}; rotation must run more often than this. */
  ttlSeconds?: number;
  /** How long a newly minted key may take to authenticate everywhere; verify retries this long. */
  propagationDelayMs: number;
}

/** A key the provider minted. `key` is the secret; `id` is the provider's handle for it. */
export interface MintedKey {
  id: string;
  key: string;
  /** When the provider says the key expires (ISO 8601), if it does. */
  expiresAt?: string;
}

/** A key as the provider lists it (providers rarely list the secret itself). */
export interface ListedKey {
  id: string;
  label?: string;
  /** ISO 8601, when the provider reports it. */
  createdAt?: string;
  /** Only when the provider lists values; lets a retried mint recover the key it made. */
  key?: string;
}

/** Every call takes the step's abort signal, so a hung provider fails the step cleanly. */
export interface ProviderCallOptions {
  signal: AbortSignal;
}

/**
 * The provider side of provider-issued keys. Implementations must make every call safe to
 * repeat:
 * - `mint` with the same `idempotencyKey` should return the key minted before (when
 *   {@link ProviderCapabilities.idempotentMint}); the key's `label` is set so a retry can
 *   find it by listing otherwise;
 * - `revoke` of a key that is already gone returns `'absent'`, not an error;
 * - `test` has no side effects and returns `'rejected'` (not an error) when the provider
 *   says the key is not valid, so callers can tell "wrong key" from "provider down".
 */
export interface KeyProvider {
  readonly capabilities: ProviderCapabilities;
  /** Mints a new key labelled `label`. */
  mint(
    request: ProviderCallOptions & { label: string; idempotencyKey: string },
  ): Promise<MintedKey>;
  /** Checks that `key` authenticates; `expectedId`, when given, must be the id the provider reports. */
  test(
    request: ProviderCallOptions & { key: string; expectedId?: string },
  ): Promise<'valid' | 'rejected'>;
  /** Revokes the key `id`. */
  revoke(request: ProviderCallOptions & { id: string }): Promise<'revoked' | 'absent'>;
  /** Lists the provider's keys; only present when {@link ProviderCapabilities.canList}. */
  list?(request: ProviderCallOptions): Promise<ListedKey[]>;
}
