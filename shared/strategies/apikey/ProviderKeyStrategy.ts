import { setTimeout as sleep } from 'node:timers/promises';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { GenerateRequest, PendingRequest, RotationRequest } from '../../engine/types.js';
import { StepTimeoutError } from '../../errors.js';
import { parseSecretObject } from '../../secrets/secretJson.js';
import type { ApiKeyModeStrategy, ApiKeySecret as Secret } from './ApiKeyModeStrategy.js';
import { AdminCredentialSource } from './adminCredentials.js';
import { ProviderDeclarationSource } from './declarations.js';
import { ApiKeyRejectedError, ProviderCallError, UnsafeRevocationError } from './errors.js';
import type { KeyProvider, MintedKey, ProviderCapabilities } from './KeyProvider.js';
import { BUILT_IN_PROVIDERS, type ProviderFactory, providerFromDeclaration } from './providers.js';
import { API_KEY_FIELDS, optionalStringField, requiredStringField } from './secretShape.js';

/**
 * How provider-issued keys overlap, chosen from {@link ProviderCapabilities.maxLiveKeys}:
 * - `overlap` (no limit, or 3+): finishSecret revokes the key two generations old; the
 *   AWSPREVIOUS key stays valid until the next rotation finishes.
 * - `two-slot` (exactly 2): the key two generations old is revoked just before the new one
 *   is minted (its slot is needed); AWSCURRENT and, after promotion, AWSPREVIOUS stay valid.
 * - `single-key` (1): finishSecret revokes the old key right after promotion; clients still
 *   holding it fail until they re-read AWSCURRENT.
 */
export type OverlapMode = 'overlap' | 'two-slot' | 'single-key';

/** The overlap mode for a provider's capabilities; see {@link OverlapMode}. */
export function overlapModeFor(capabilities: ProviderCapabilities): OverlapMode {
  const max = capabilities.maxLiveKeys;
  if (max === undefined || max >= 3) return 'overlap';
  return max === 2 ? 'two-slot' : 'single-key';
}

/** The label a rotation mints its key under: unique per rotation, so a retry can find it. */
export function labelForToken(token: string): string {
  return `rotator-${token}`;
}

/** What provider-issued keys are rotated with; everything has a production default. */
export interface ProviderKeyDependencies {
  /** Client for reading provider admin credentials (through Powertools' SecretsProvider). */
  client?: SecretsManagerClient;
  /** Admin credential reader; by default one over `client`. */
  adminCredentials?: AdminCredentialSource;
  /** SSM client for declarations kept in parameters (`provider.ssmParameter`). */
  ssmClient?: SSMClient;
  /** Declaration resolver; by default one over `ssmClient`. */
  declarations?: ProviderDeclarationSource;
  /** Extra provider factories by `provider.type`, next to the built-in `http`. */
  providers?: Record<string, ProviderFactory>;
  /** `fetch` for the HTTP provider; the global one by default. */
  fetch?: typeof fetch;
  /** Upper bound of one wait between verify attempts; default 1000 ms. */
  verifyPollMs?: number;
}

/** Options for {@link ProviderKeyStrategy}: its dependencies and the validated environment. */
export interface ProviderKeyStrategyOptions extends ProviderKeyDependencies {
  /** The secret field holding the key (`API_KEY_FIELD`). */
  keyField: string;
  /** Hosts `provider.baseUrl` may point at (`API_KEY_PROVIDER_ALLOWED_HOSTS`); empty = any. */
  allowedHosts: string[];
  /** The SSM path declarations may be read from (`API_KEY_DECLARATION_PATH`); absent = any. */
  declarationPath?: string | undefined;
}

/**
 * Provider-issued keys: minted by a {@link KeyProvider} in createSecret (idempotent on the
 * rotation token), tested in testSecret (retrying through the provider's propagation
 * delay), and the keys the {@link OverlapMode} no longer needs revoked in finishSecret.
 */
export class ProviderKeyStrategy implements ApiKeyModeStrategy {
  readonly #keyField: string;
  readonly #allowedHosts: string[];
  readonly #adminCredentials: AdminCredentialSource;
  readonly #declarations: ProviderDeclarationSource;
  readonly #factories: Record<string, ProviderFactory>;
  readonly #fetch: typeof fetch | undefined;
  readonly #verifyPollMs: number;

  constructor(options: ProviderKeyStrategyOptions) {
    this.#keyField = options.keyField;
    this.#allowedHosts = options.allowedHosts;
    this.#adminCredentials =
      options.adminCredentials ??
      new AdminCredentialSource(options.client ? { client: options.client } : {});
    this.#declarations =
      options.declarations ??
      new ProviderDeclarationSource({
        ...(options.ssmClient ? { ssmClient: options.ssmClient } : {}),
        ...(options.declarationPath ? { allowedPath: options.declarationPath } : {}),
      });
    this.#factories = { ...BUILT_IN_PROVIDERS, ...(options.providers ?? {}) };
    this.#fetch = options.fetch;
    this.#verifyPollMs = options.verifyPollMs ?? 1_000;
  }

  /**
   * Nothing to apply: the key was made valid when it was minted in createSecret (its value
   * has to exist before it can be stored). Checks that the pending value records the key's
   * id, without which finishSecret could not revoke it later.
   */
  async apply(_request: PendingRequest, pending: Secret): Promise<void> {
    requiredStringField(pending, API_KEY_FIELDS.keyId);
  }

  /**
   * Revokes what the overlap mode says is no longer needed, using ids recorded in the new
   * AWSCURRENT value (exact whichever way the labels stood when this runs). Idempotent: a
   * key already gone counts as revoked, so a retried finishSecret completes.
   */
  async afterPromotion(request: PendingRequest, promoted: Secret): Promise<void> {
    const provider = await this.#provider(promoted, request);
    const mode = overlapModeFor(provider.capabilities);
    const currentId = requiredStringField(promoted, API_KEY_FIELDS.keyId);
    const previousId = optionalStringField(promoted, API_KEY_FIELDS.previousKeyId);
    const retiringId = optionalStringField(promoted, API_KEY_FIELDS.retiringKeyId);
    // AWSCURRENT is never revoked; AWSPREVIOUS is kept except in single-key mode, whose
    // whole point is that the provider cannot hold two keys.
    const protectedIds = new Set([
      currentId,
      ...(mode === 'single-key' || !previousId ? [] : [previousId]),
    ]);
    // Belt and braces against a hand-edited id field: also protect the ids the labelled
    // versions themselves hold (the engine gives this hook the post-promotion labels).
    for (const id of await this.#labelledKeyIds(request, mode !== 'single-key'))
      protectedIds.add(id);
    const targets = [retiringId, ...(mode === 'single-key' ? [previousId] : [])].filter(
      (id): id is string => id !== undefined,
    );
    if (mode === 'single-key' && previousId === undefined) {
      request.logger.warn(
        'Single-key mode: the old key has no recorded keyId, so it cannot be revoked; revoke it by hand',
        {
          keyId: currentId,
        },
      );
    }
    for (const id of new Set(targets)) {
      await this.#revoke(provider, id, protectedIds, request, 'finishSecret');
    }
  }

  async #labelledKeyIds(request: PendingRequest, includePrevious: boolean): Promise<string[]> {
    const values = [
      await request.current(),
      includePrevious ? await request.previous() : undefined,
    ];
    const ids: string[] = [];
    for (const value of values) {
      if (value === undefined) continue;
      const id = parseSecretObject(value)[API_KEY_FIELDS.keyId];
      if (typeof id === 'string' && id !== '') ids.push(id);
    }
    return ids;
  }

  async #provider(secret: Secret, request: RotationRequest): Promise<KeyProvider> {
    const declaration = await this.#declarations.resolve(secret[API_KEY_FIELDS.provider]);
    return providerFromDeclaration(declaration, this.#factories, {
      adminCredentials: this.#adminCredentials,
      register: (value) => request.registerSecret(value),
      allowedHosts: this.#allowedHosts,
      ...(this.#fetch ? { fetch: this.#fetch } : {}),
    });
  }

  /**
   * Mints the key of this rotation (once, however often the step runs) and records the id chain
   * finishSecret revokes by: the current key becomes `previousKeyId`, the previous one
   * `retiringKeyId`. In two-slot mode the previous key is revoked first, to free its slot.
   */
  async generatePending(request: GenerateRequest, current: Secret): Promise<Secret> {
    const provider = await this.#provider(current, request);
    const mode = overlapModeFor(provider.capabilities);
    const currentId = optionalStringField(current, API_KEY_FIELDS.keyId);
    const previousId = optionalStringField(current, API_KEY_FIELDS.previousKeyId);
    if (mode === 'single-key') {
      request.logger.warn(
        'SINGLE-KEY MODE: the provider allows only one live key, so there is no overlap; clients holding the old key will be rejected from finishSecret until they re-read AWSCURRENT',
        { overlapMode: mode, maxLiveKeys: provider.capabilities.maxLiveKeys },
      );
    }
    if (provider.capabilities.keysExpire && provider.capabilities.ttlSeconds === undefined) {
      request.logger.warn(
        'Provider keys expire but no ttlSeconds is declared: make sure rotation runs more often than keys expire',
      );
    }
    if (mode === 'two-slot' && previousId !== undefined && previousId !== currentId) {
      // The provider holds at most two keys, and both slots are taken by AWSCURRENT and
      // AWSPREVIOUS; the older one has been superseded for a full rotation interval.
      await this.#revoke(
        provider,
        previousId,
        new Set(currentId ? [currentId] : []),
        request,
        'createSecret',
      );
    }
    const minted = await this.#mintOnce(provider, request);
    request.registerSecret(minted.key);
    request.logger.info('Minted a new provider-issued API key', {
      keyId: minted.id,
      overlapMode: mode,
    });
    const next: Secret = {
      ...current,
      [this.#keyField]: minted.key,
      [API_KEY_FIELDS.keyId]: minted.id,
    };
    next[API_KEY_FIELDS.keyLabel] = labelForToken(request.token);
    setOrDelete(next, API_KEY_FIELDS.previousKeyId, currentId);
    // In two-slot mode the old previous key was revoked above; recording it again is harmless
    // (a second revoke finds it absent) and keeps one rule for finishSecret.
    setOrDelete(next, API_KEY_FIELDS.retiringKeyId, previousId);
    setOrDelete(next, API_KEY_FIELDS.expiresAt, minted.expiresAt);
    return next;
  }

  /**
   * Mints the key for this rotation exactly once. The rotation token travels as the
   * idempotency key and in the label; before minting, a provider that can list is asked for
   * a key this rotation already made (a retry after the key was minted but not stored). If
   * the listing shows its value it is reused; otherwise, unless the provider de-duplicates
   * mints itself, that unusable key is revoked so it does not linger.
   */
  async #mintOnce(provider: KeyProvider, request: GenerateRequest): Promise<MintedKey> {
    const label = labelForToken(request.token);
    if (provider.capabilities.canList && provider.list) {
      const ours = (await provider.list({ signal: request.signal })).filter(
        (key) => key.label === label,
      );
      const reusable = ours.find((key) => key.key !== undefined);
      if (reusable?.key !== undefined) {
        request.registerSecret(reusable.key);
        request.logger.info('Reusing the key an earlier attempt of this rotation minted', {
          keyId: reusable.id,
        });
        return { id: reusable.id, key: reusable.key };
      }
      if (!provider.capabilities.idempotentMint) {
        for (const orphan of ours) {
          request.logger.warn('Revoking a key an earlier attempt minted but never stored', {
            keyId: orphan.id,
          });
          await this.#revoke(provider, orphan.id, new Set(), request, 'createSecret');
        }
      }
    }
    return provider.mint({ label, idempotencyKey: request.token, signal: request.signal });
  }

  async #revoke(
    provider: KeyProvider,
    id: string,
    protectedIds: ReadonlySet<string>,
    request: RotationRequest,
    phase: string,
  ): Promise<void> {
    if (protectedIds.has(id)) {
      throw new UnsafeRevocationError(id, 'it is the AWSCURRENT or AWSPREVIOUS key');
    }
    const outcome = await provider.revoke({ id, signal: request.signal });
    request.logger.info(
      outcome === 'revoked' ? 'Revoked provider key' : 'Provider key was already revoked',
      {
        keyId: id,
        phase,
      },
    );
  }

  /**
   * Tests the pending key at the provider, retrying for the declared propagation delay: a
   * key minted a moment ago may not be known to every provider node yet.
   */
  async verify(request: PendingRequest, pending: Secret): Promise<void> {
    const provider = await this.#provider(pending, request);
    const key = requiredStringField(pending, this.#keyField);
    const keyId = optionalStringField(pending, API_KEY_FIELDS.keyId);
    const deadline = Date.now() + provider.capabilities.propagationDelayMs;
    for (let attempt = 1; ; attempt++) {
      let outcome: 'valid' | 'rejected' | ProviderCallError;
      try {
        outcome = await provider.test({
          key,
          signal: request.signal,
          ...(keyId ? { expectedId: keyId } : {}),
        });
      } catch (error) {
        if (!(error instanceof ProviderCallError) || !error.retryable) throw error;
        outcome = error;
      }
      if (outcome === 'valid') {
        request.logger.info('Pending API key authenticates at the provider', {
          keyId,
          attempts: attempt,
        });
        return;
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0 || request.signal.aborted) {
        if (outcome instanceof ProviderCallError) throw outcome;
        throw new ApiKeyRejectedError(
          `The provider rejected the pending API key (keyId ${keyId ?? 'unknown'}) after ${attempt} attempt(s) over the ${provider.capabilities.propagationDelayMs} ms propagation window`,
        );
      }
      request.logger.debug('Pending API key not accepted yet; waiting for propagation', {
        keyId,
        attempt,
      });
      try {
        await sleep(Math.min(remaining, this.#verifyPollMs, 50 * 2 ** attempt), undefined, {
          signal: request.signal,
        });
      } catch (error) {
        throw new StepTimeoutError('Aborted while waiting for the pending API key to propagate', {
          cause: error,
        });
      }
    }
  }
}

function setOrDelete(target: Secret, field: string, value: string | undefined): void {
  if (value === undefined) delete target[field];
  else target[field] = value;
}
