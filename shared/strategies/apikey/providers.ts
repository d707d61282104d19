import { SecretFormatError } from '../../errors.js';
import type { AdminCredentialSource } from './adminCredentials.js';
import { HttpKeyProvider } from './HttpKeyProvider.js';
import { parseHttpProviderConfig } from './httpDeclaration.js';
import type { KeyProvider } from './KeyProvider.js';

/** What a provider factory may use. */
export interface ProviderDependencies {
  adminCredentials: AdminCredentialSource;
  /** Registers a value that must never be logged (admin credentials). */
  register: (value: string) => void;
  /** Hosts `provider.baseUrl` may point at (`API_KEY_PROVIDER_ALLOWED_HOSTS`); empty = any. */
  allowedHosts: readonly string[];
  fetch?: typeof fetch;
}

/**
 * Builds a {@link KeyProvider} from the secret's `provider` object. Keyed by `provider.type`;
 * add one to rotate keys of a provider that needs code rather than declarations.
 */
export type ProviderFactory = (
  declaration: Record<string, unknown>,
  deps: ProviderDependencies,
) => KeyProvider;

/** The built-in factories: only the declarative `http` provider. */
export const BUILT_IN_PROVIDERS: Readonly<Record<string, ProviderFactory>> = Object.freeze({
  http: (declaration, deps) => {
    const config = parseHttpProviderConfig(declaration, deps.allowedHosts);
    return new HttpKeyProvider({
      config,
      adminCredential: ({ forceFetch }) =>
        deps.adminCredentials.load(config.admin, { forceFetch, register: deps.register }),
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    });
  },
});

/**
 * The provider a secret declares.
 *
 * @throws SecretFormatError naming `provider` or `provider.type`.
 */
export function providerFromDeclaration(
  declaration: unknown,
  factories: Readonly<Record<string, ProviderFactory>>,
  deps: ProviderDependencies,
): KeyProvider {
  if (declaration === null || typeof declaration !== 'object' || Array.isArray(declaration)) {
    throw new SecretFormatError('provider', 'must be an object');
  }
  const type = (declaration as { type?: unknown }).type ?? 'http';
  const factory = typeof type === 'string' ? factories[type] : undefined;
  if (!factory) {
    throw new SecretFormatError(
      'provider.type',
      `must be one of ${Object.keys(factories).join(', ')}`,
    );
  }
  return factory(declaration as Record<string, unknown>, deps);
}

/** `API_KEY_PROVIDER_ALLOWED_HOSTS`: comma-separated host names; empty means any host. */
export function allowedHostsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.API_KEY_PROVIDER_ALLOWED_HOSTS ?? '')
    .split(',')
    .map((host) => host.trim().toLowerCase())
    .filter((host) => host !== '');
}
