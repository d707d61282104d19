import type { Logger } from '@aws-lambda-powertools/logger';
import { SecretFormatError } from '../errors.js';
import type { AdminSecretReader } from '../kinds/CredentialKind.js';
import { AWSCURRENT, AWSPENDING, type SecretsGateway } from './SecretsGateway.js';

/** Options for {@link GatewayAdminSecrets}. */
export interface GatewayAdminSecretsOptions {
  /** How long a read value is reused; default 300 000 ms (a refused value is re-read at once). */
  maxAgeMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * {@link AdminSecretReader} over the engine's {@link SecretsGateway}: retries, endpoint and
 * redaction are the gateway's (every value it returns is registered for scrubbing first).
 * Values are cached by secret id for `maxAgeMs`, so a warm container rotating several
 * secrets with one admin reads it once; kinds pass `forceFetch` when the cached credential
 * is refused (the admin secret may have been rotated meanwhile).
 */
export class GatewayAdminSecrets implements AdminSecretReader {
  readonly #gateway: SecretsGateway;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, { value: string; readAt: number }>();

  constructor(gateway: SecretsGateway, options: GatewayAdminSecretsOptions = {}) {
    this.#gateway = gateway;
    this.#maxAgeMs = options.maxAgeMs ?? 300_000;
    this.#now = options.now ?? Date.now;
  }

  async current(
    secretId: string,
    options: { forceFetch?: boolean; signal?: AbortSignal; field?: string } = {},
  ): Promise<string> {
    const cached = this.#cache.get(secretId);
    // A negative age is a wall clock stepped back (NTP): read again rather than trust it.
    const age = cached ? this.#now() - cached.readAt : -1;
    if (cached && !options.forceFetch && age >= 0 && age <= this.#maxAgeMs) {
      // Registered again: the cache outlives the invocation whose scope registered it.
      this.#gateway.registerValue(cached.value);
      return cached.value;
    }
    const value = await this.#gateway.getValueByStage(secretId, AWSCURRENT, options.signal);
    if (value === undefined) {
      throw new SecretFormatError(
        options.field ?? 'masterarn',
        'names a secret without an AWSCURRENT value',
      );
    }
    this.#cache.set(secretId, { value, readAt: this.#now() });
    return value;
  }

  async pending(
    secretId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<string | undefined> {
    return this.#gateway.getValueByStage(secretId, AWSPENDING, options.signal);
  }
}

/** One admin credential to try, and the label it was read under. */
export interface AdminCandidate {
  stage: typeof AWSCURRENT | typeof AWSPENDING;
  value: string;
  /** Whether the value was read fresh rather than from the cache. */
  forceFetch: boolean;
}

/**
 * The admin credentials to try, in order, one at a time (each is read only when the one
 * before it was refused): the cached AWSCURRENT, a fresh AWSCURRENT (the admin may have been
 * rotated since), then the admin's AWSPENDING. The last covers an admin secret caught
 * half-way through its own rotation: after its setSecret the database already holds the
 * pending password, while AWSCURRENT still has the old one. Kinds try the next candidate
 * only on a refused login, never on a network failure.
 */
export async function* adminCandidates(
  reader: AdminSecretReader,
  secretId: string,
  signal?: AbortSignal,
): AsyncGenerator<AdminCandidate> {
  yield { stage: AWSCURRENT, value: await reader.current(secretId, { signal }), forceFetch: false };
  const fresh = await reader.current(secretId, { forceFetch: true, signal });
  yield { stage: AWSCURRENT, value: fresh, forceFetch: true };
  const pending = await reader.pending?.(secretId, { signal });
  if (pending !== undefined && pending !== fresh) {
    yield { stage: AWSPENDING, value: pending, forceFetch: true };
  }
}

/** What {@link firstAdminLogin} needs from the step and the kind. */
export interface AdminLoginAttempt<Login extends { username: string; password: string }, Session> {
  reader: AdminSecretReader;
  secretId: string;
  signal?: AbortSignal;
  /** Registers a value for scrubbing (the step's `registerSecret`). */
  register(value: string): void;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** The kind's login from an admin secret value (parsing errors are the kind's). */
  loginOf(value: string): Login;
  /** Logs in; undefined when the login is refused, throws on any other failure. */
  tryLogin(login: Login): Promise<Session | undefined>;
}

/**
 * Logs in as the admin with the first of {@link adminCandidates} the target accepts, and
 * says in the log which label it was (`adminStage`), never the value. Undefined when every
 * candidate was refused; a network failure throws at once.
 */
export async function firstAdminLogin<
  Login extends { username: string; password: string },
  Session,
>(attempt: AdminLoginAttempt<Login, Session>): Promise<Session | undefined> {
  for await (const { stage, value, forceFetch } of adminCandidates(
    attempt.reader,
    attempt.secretId,
    attempt.signal,
  )) {
    attempt.register(value);
    const login = attempt.loginOf(value);
    attempt.register(login.password);
    const session = await attempt.tryLogin(login);
    if (session) {
      attempt.logger.info('Logged in as admin', { adminUser: login.username, adminStage: stage });
      return session;
    }
    attempt.logger.warn('Admin login refused', {
      adminUser: login.username,
      adminStage: stage,
      forceFetch,
    });
  }
  return undefined;
}
