import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { RotationStateError } from '../../errors.js';
import {
  AWSCURRENT,
  AWSPENDING,
  AWSPREVIOUS,
  SecretsGateway,
} from '../../secrets/SecretsGateway.js';
import { parseSecretObject } from '../../secrets/secretJson.js';
import { AdminCredentialSource } from './adminCredentials.js';
import { ProviderDeclarationSource } from './declarations.js';
import type { ProviderCapabilities } from './KeyProvider.js';
import {
  allowedHostsFromEnv,
  BUILT_IN_PROVIDERS,
  type ProviderFactory,
  providerFromDeclaration,
} from './providers.js';
import { API_KEY_FIELDS, optionalStringField, resolveApiKeyMode } from './secretShape.js';

/** Where a listed key stands relative to the secret's labelled versions. */
export type ReconciledKeyStatus = 'current' | 'previous' | 'pending' | 'stranded';

/** One provider key in a {@link ApiKeyReconcileReport} (never its value). */
export interface ReconciledKey {
  id: string;
  label?: string;
  createdAt?: string;
  status: ReconciledKeyStatus;
  /** Older than `maxKeyAgeDays` (only when the provider reports `createdAt`). */
  tooOld: boolean;
}

/** The result of {@link reconcileApiKeys}. */
export interface ApiKeyReconcileReport {
  secretId: string;
  mode: 'self-issued' | 'provider';
  /** False when the secret's provider cannot list keys (nothing could be checked). */
  listed: boolean;
  capabilities?: ProviderCapabilities;
  /** Ids the secret's versions refer to, by stage. */
  referenced: { current?: string; previous?: string; pending?: string };
  keys: ReconciledKey[];
  /** Ids of keys that are neither current, previous nor pending: left by a failed clean-up. */
  stranded: string[];
  /** Stages whose key id the provider does not list (e.g. AWSCURRENT's key was revoked by hand). */
  missing: Array<{ stage: 'AWSCURRENT' | 'AWSPREVIOUS'; keyId: string }>;
  /** Keys older than `maxKeyAgeDays`. */
  tooOld: string[];
  /** True when nothing is stranded, missing or too old. */
  healthy: boolean;
}

/** Options for {@link reconcileApiKeys}. */
export interface ReconcileApiKeysOptions {
  /** ARN or name of the API-key secret. */
  secretId: string;
  /** Secrets Manager client (the operator CLI's). */
  client: SecretsManagerClient;
  /** Client for the provider's admin secret, when it lives elsewhere; `client` by default. */
  adminClient?: SecretsManagerClient;
  /** SSM client, for declarations kept in a parameter (`provider.ssmParameter`). */
  ssmClient?: SSMClient;
  signal?: AbortSignal;
  /** Flag keys older than this many days (needs the provider's `createdAt`). */
  maxKeyAgeDays?: number;
  /**
   * Only keys whose label starts with this are considered ours (besides keys a rotation was
   * meant to revoke); default `rotator-`. `""`: every key.
   */
  labelPrefix?: string;
  /** Extra provider factories, as for the strategy. */
  providers?: Record<string, ProviderFactory>;
  /** For `API_KEY_PROVIDER_ALLOWED_HOSTS`; `process.env` by default. */
  env?: NodeJS.ProcessEnv;
  /** Receives secret values read (admin credentials) so the caller can scrub them. */
  registerSecret?: (value: string) => void;
  fetch?: typeof fetch;
  now?: () => Date;
}

/**
 * Lists the provider's keys for an API-key secret and reports every key that is neither
 * the AWSCURRENT, AWSPREVIOUS nor AWSPENDING key: keys stranded by a failed clean-up, which
 * nobody will ever revoke otherwise. Read-only: it never revokes anything. Meant for the
 * operator CLI and a periodic check.
 *
 * @example
 * ```ts
 * const report = await reconcileApiKeys({ secretId, client: new SecretsManagerClient({}) });
 * if (!report.healthy) logger.warn('Stranded provider keys', { keys: report.stranded });
 * ```
 */
export async function reconcileApiKeys(
  options: ReconcileApiKeysOptions,
): Promise<ApiKeyReconcileReport> {
  const signal = options.signal ?? new AbortController().signal;
  // Staged reads go through the raw client: Powertools' cache key has no version stage.
  const gateway = new SecretsGateway({ client: options.client, cache: null });
  const read = async (stage: string) => {
    const value = await gateway.getValueByStage(options.secretId, stage, signal);
    return value === undefined ? undefined : parseSecretObject(value, `${stage} SecretString`);
  };
  const [current, previous, pending] = await Promise.all([
    read(AWSCURRENT),
    read(AWSPREVIOUS),
    read(AWSPENDING),
  ]);
  if (!current) throw new RotationStateError(`Secret ${options.secretId} has no AWSCURRENT value`);
  const mode = resolveApiKeyMode(current, undefined);
  const referenced = {
    ...idOf('current', current),
    ...idOf('previous', previous),
    ...idOf('pending', pending),
  };
  const base = {
    secretId: options.secretId,
    mode,
    referenced,
    keys: [],
    stranded: [],
    missing: [],
    tooOld: [],
  };
  if (mode === 'self-issued') return { ...base, listed: false, healthy: true };

  const declaration = await new ProviderDeclarationSource(
    options.ssmClient ? { ssmClient: options.ssmClient } : {},
  ).resolve(current[API_KEY_FIELDS.provider]);
  const provider = providerFromDeclaration(
    declaration,
    { ...BUILT_IN_PROVIDERS, ...(options.providers ?? {}) },
    {
      adminCredentials: new AdminCredentialSource({
        client: options.adminClient ?? options.client,
      }),
      register: options.registerSecret ?? (() => {}),
      allowedHosts: allowedHostsFromEnv(options.env ?? process.env),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    },
  );
  if (!provider.capabilities.canList || !provider.list) {
    return { ...base, listed: false, capabilities: provider.capabilities, healthy: true };
  }
  const listed = await provider.list({ signal });
  const labelPrefix = options.labelPrefix ?? 'rotator-';
  // Ids the labelled versions say were to be revoked: finishSecret's targets.
  const dueForRevocation = new Set(
    [current, previous]
      .map((secret) =>
        secret ? optionalStringField(secret, API_KEY_FIELDS.retiringKeyId) : undefined,
      )
      .filter((id): id is string => id !== undefined),
  );
  const now = (options.now ?? (() => new Date()))().getTime();
  const maxAgeMs =
    options.maxKeyAgeDays === undefined ? undefined : options.maxKeyAgeDays * 86_400_000;
  const keys: ReconciledKey[] = [];
  for (const key of listed) {
    const status: ReconciledKeyStatus =
      key.id === referenced.current
        ? 'current'
        : key.id === referenced.previous
          ? 'previous'
          : key.id === referenced.pending
            ? 'pending'
            : 'stranded';
    // Keys someone made by hand for another purpose are not ours to report, unless a
    // rotation meant to revoke them (a finishSecret whose clean-up failed).
    if (
      status === 'stranded' &&
      labelPrefix !== '' &&
      !key.label?.startsWith(labelPrefix) &&
      !dueForRevocation.has(key.id)
    )
      continue;
    const created = key.createdAt ? Date.parse(key.createdAt) : Number.NaN;
    const tooOld = maxAgeMs !== undefined && Number.isFinite(created) && now - created > maxAgeMs;
    keys.push({
      id: key.id,
      ...(key.label === undefined ? {} : { label: key.label }),
      ...(key.createdAt === undefined ? {} : { createdAt: key.createdAt }),
      status,
      tooOld,
    });
  }
  const listedIds = new Set(listed.map((key) => key.id));
  const missing: ApiKeyReconcileReport['missing'] = [];
  if (referenced.current && !listedIds.has(referenced.current))
    missing.push({ stage: 'AWSCURRENT', keyId: referenced.current });
  if (referenced.previous && !listedIds.has(referenced.previous))
    missing.push({ stage: 'AWSPREVIOUS', keyId: referenced.previous });
  const stranded = keys.filter((key) => key.status === 'stranded').map((key) => key.id);
  const tooOld = keys.filter((key) => key.tooOld).map((key) => key.id);
  return {
    ...base,
    listed: true,
    capabilities: provider.capabilities,
    keys,
    stranded,
    missing,
    tooOld,
    healthy: stranded.length === 0 && missing.length === 0 && tooOld.length === 0,
  };
}

function idOf<K extends string>(
  stage: K,
  secret: Record<string, unknown> | undefined,
): { [P in K]?: string } {
  const id = secret ? optionalStringField(secret, API_KEY_FIELDS.keyId) : undefined;
  return (id === undefined ? {} : { [stage]: id }) as { [P in K]?: string };
}
