import { SecretFormatError } from '../../errors.js';
import type { CredentialKind, FieldProblem, KindTarget } from '../../kinds/CredentialKind.js';
import { ApiKeyStrategy } from './ApiKeyStrategy.js';
import { AdminCredentialSource } from './adminCredentials.js';
import { declarationPathFromEnv } from './declarations.js';
import { keyFormatFromEnv } from './keyFormat.js';
import { allowedHostsFromEnv } from './providers.js';
import {
  API_KEY_FIELDS,
  apiKeyFieldFromEnv,
  apiKeyModeFromEnv,
  resolveApiKeyMode,
} from './secretShape.js';

/** The `provider.baseUrl` of a provider-issued secret, as a target, or `undefined`. */
function providerTarget(fields: Readonly<Record<string, unknown>>): KindTarget | undefined {
  const baseUrl = (fields.provider as { baseUrl?: unknown } | undefined)?.baseUrl;
  if (typeof baseUrl !== 'string') return undefined;
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return undefined;
  }
  return {
    what: 'the API key provider',
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    tls: { mode: url.protocol === 'https:' ? 'verify-full' : 'disable' },
  };
}

/**
 * API keys kept in a JSON secret, self-issued or minted by a provider (see
 * `docs/api-keys.md`). The provider's admin credential is read through the engine's gateway.
 */
export const apiKeyKind: CredentialKind = {
  name: 'apikey',
  label: 'API key',
  functionNameHints: ['apikey', 'api-key'],
  // Provider keys overlap by the provider's declared capabilities (single-key providers
  // revoke at finishSecret); self-issued keys are only ever checked by their verifiers.
  overlap: (fields, env) => {
    try {
      const mode = resolveApiKeyMode({ ...fields }, apiKeyModeFromEnv(env));
      if (mode === 'self-issued') return 'not-checked';
    } catch {
      return 'not-checked';
    }
    const max = (fields.provider as { capabilities?: { maxLiveKeys?: unknown } } | undefined)
      ?.capabilities?.maxLiveKeys;
    return max === 1 ? 'until-finish' : 'until-next-rotation';
  },
  recognise(fields) {
    if (API_KEY_FIELDS.key in fields) return `an ${API_KEY_FIELDS.key} field`;
    if (typeof fields.provider === 'object' && fields.provider !== null) return 'a provider object';
    return undefined;
  },
  validateEnvironment(env) {
    keyFormatFromEnv(env);
    apiKeyModeFromEnv(env);
    apiKeyFieldFromEnv(env);
    allowedHostsFromEnv(env);
    declarationPathFromEnv(env);
  },
  createStrategy(context) {
    return new ApiKeyStrategy({
      env: context.env,
      adminCredentials: new AdminCredentialSource({ reader: context.adminSecrets }),
    });
  },
  fieldProblems(fields, env): FieldProblem[] {
    const problems: FieldProblem[] = [];
    let field: string = API_KEY_FIELDS.key;
    try {
      field = apiKeyFieldFromEnv(env);
    } catch {
      // A bad API_KEY_FIELD is the function's configuration problem, reported elsewhere.
    }
    const value = fields[field];
    if (value === undefined || value === null) {
      problems.push({ field, problem: 'is missing', severity: 'error' });
    } else if (typeof value !== 'string' || value === '') {
      problems.push({ field, problem: 'must be a non-empty string', severity: 'error' });
    }
    try {
      resolveApiKeyMode({ ...fields }, undefined);
    } catch (error) {
      if (!(error instanceof SecretFormatError)) throw error;
      problems.push({ field: error.field, problem: error.problem, severity: 'error' });
    }
    return problems;
  },
  target: (fields) => providerTarget(fields),
};
