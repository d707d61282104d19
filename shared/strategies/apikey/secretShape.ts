import { ConfigurationError, SecretFormatError } from '../../errors.js';

/**
 * Field names of an API-key secret. Only {@link ApiKeySecretFields.key} is required; every
 * field the rotator does not know is carried over unchanged from version to version.
 */
export const API_KEY_FIELDS = {
  /** The key itself (default name; `API_KEY_FIELD` renames it). */
  key: 'apiKey',
  /** `"self-issued"` or `"provider"`; optional (see {@link resolveApiKeyMode}). */
  mode: 'mode',
  /** Self-issued: `{ prefix?, length?, alphabet? }` over the deployment default. */
  keyFormat: 'keyFormat',
  /** Provider-issued: the provider declaration. */
  provider: 'provider',
  /** Provider-issued: the provider's id of the key in this version. */
  keyId: 'keyId',
  /** Provider-issued: the label the key was minted with (`rotator-<ClientRequestToken>`). */
  keyLabel: 'keyLabel',
  /** Provider-issued: the id of the key one generation older (the AWSPREVIOUS key once promoted). */
  previousKeyId: 'previousKeyId',
  /** Provider-issued: the id of the key two generations older, revoked by finishSecret. */
  retiringKeyId: 'retiringKeyId',
  /** Provider-issued: when the provider said the key expires (ISO 8601), if it did. */
  expiresAt: 'expiresAt',
} as const;

/** The names of the fields above, as a type. */
export type ApiKeySecretFields = typeof API_KEY_FIELDS;

/** How a secret's keys are made. */
export type ApiKeyMode = 'self-issued' | 'provider';

const MODES: readonly ApiKeyMode[] = ['self-issued', 'provider'];

/**
 * The deployment default from `API_KEY_MODE` (`self-issued` when unset). Validated at start-up.
 *
 * @throws ConfigurationError naming `API_KEY_MODE`.
 */
export function apiKeyModeFromEnv(env: NodeJS.ProcessEnv = process.env): ApiKeyMode | undefined {
  const value = env.API_KEY_MODE;
  if (value === undefined || value === '') return undefined;
  if (!(MODES as readonly string[]).includes(value)) {
    throw new ConfigurationError('API_KEY_MODE', `must be one of ${MODES.join(', ')}`);
  }
  return value as ApiKeyMode;
}

/**
 * The mode for one secret: its `mode` field wins; else a `provider` object means
 * provider-issued; else the deployment default; else self-issued.
 *
 * @throws SecretFormatError naming `mode` or `provider`.
 */
export function resolveApiKeyMode(
  secret: Record<string, unknown>,
  fallback: ApiKeyMode | undefined,
): ApiKeyMode {
  const declared = secret[API_KEY_FIELDS.mode];
  let mode: ApiKeyMode;
  if (declared !== undefined) {
    if (typeof declared !== 'string' || !(MODES as readonly string[]).includes(declared)) {
      throw new SecretFormatError(API_KEY_FIELDS.mode, `must be one of ${MODES.join(', ')}`);
    }
    mode = declared as ApiKeyMode;
  } else if (secret[API_KEY_FIELDS.provider] !== undefined) {
    mode = 'provider';
  } else {
    mode = fallback ?? 'self-issued';
  }
  if (mode === 'provider' && secret[API_KEY_FIELDS.provider] === undefined) {
    throw new SecretFormatError(API_KEY_FIELDS.provider, 'is required for provider-issued keys');
  }
  return mode;
}

/** The name of the key field from `API_KEY_FIELD`, default `apiKey`. */
export function apiKeyFieldFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const value = env.API_KEY_FIELD;
  if (value === undefined || value === '') return API_KEY_FIELDS.key;
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(value)) {
    throw new ConfigurationError(
      'API_KEY_FIELD',
      'must be a JSON field name of letters, digits and _',
    );
  }
  return value;
}

/** A string field that may be absent; anything else is a format error naming the field. */
export function optionalStringField(
  secret: Record<string, unknown>,
  field: string,
): string | undefined {
  const value = secret[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '')
    throw new SecretFormatError(field, 'must be a non-empty string');
  return value;
}

/** A string field that must be present. */
export function requiredStringField(secret: Record<string, unknown>, field: string): string {
  const value = optionalStringField(secret, field);
  if (value === undefined) throw new SecretFormatError(field, 'must be a non-empty string');
  return value;
}
