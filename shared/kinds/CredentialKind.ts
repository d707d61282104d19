import type { RotationStrategy } from '../engine/types.js';
import type { PasswordPolicy } from '../secrets/passwords.js';

/**
 * Reads another secret's `AWSCURRENT` value (an admin secret named by `masterarn`, a
 * provider's admin credential) through the engine's Secrets Manager gateway: one path for
 * retries, caching and redaction. Every value read is registered for scrubbing before it is
 * returned.
 */
export interface AdminSecretReader {
  /**
   * The `AWSCURRENT` `SecretString` of `secretId`. Cached for a short time so warm
   * invocations rotating several secrets with one admin read it once; `forceFetch` bypasses
   * the cache (used once when a cached admin password is refused: it may have been rotated).
   * `field` names the secret field that pointed here (default `masterarn`), for the error
   * when the admin secret has no value.
   */
  current(
    secretId: string,
    options?: { forceFetch?: boolean; signal?: AbortSignal; field?: string },
  ): Promise<string>;
  /**
   * The `AWSPENDING` `SecretString` of `secretId`, never cached; undefined when the admin
   * secret is not mid-rotation (no pending version, or one without a value yet).
   */
  pending?(secretId: string, options?: { signal?: AbortSignal }): Promise<string | undefined>;
}

/**
 * What the engine hands a kind's strategy factory: the environment it validated at start-up,
 * and the services every kind may need. Fields can be added without breaking kinds.
 */
export interface KindContext {
  /** The function's environment (kind-specific variables are read from here). */
  readonly env: NodeJS.ProcessEnv;
  /** `CONNECT_TIMEOUT_MS` (or the older `DB_CONNECT_TIMEOUT_MS`), validated: 100–60000, default 5000. */
  readonly connectTimeoutMs: number;
  /** Admin secrets through the engine's gateway. */
  readonly adminSecrets: AdminSecretReader;
}

/** A field a kind needs that a secret lacks or has in the wrong type: names it, never its value. */
export interface FieldProblem {
  readonly field: string;
  readonly problem: string;
  readonly severity: 'error' | 'warning';
}

/**
 * Where a secret's credential is used, for reachability and TLS checks by operator tools.
 * `startTls` negotiates TLS inside the kind's own protocol on a connected socket
 * (PostgreSQL's SSLRequest, MySQL's capability flag) and resolves false when the server
 * does not offer it; absent, TLS starts directly on connect (HTTPS, Redis).
 */
export interface KindTarget {
  /** Human name for messages, e.g. `the database`, `the API key provider`. */
  readonly what: string;
  readonly host: string;
  readonly port: number;
  readonly tls: { readonly mode: 'disable' | 'require' | 'verify-full'; readonly ca?: string };
  readonly startTls?: (socket: import('node:net').Socket, timeoutMs: number) => Promise<boolean>;
}

/**
 * The verdict of trying one credential, the same for `testSecret` and for the CLI:
 * - `accepted`: the target took the login;
 * - `rejected`: the target refused these credentials (the one answer that means "wrong value");
 * - `unreachable`: network failure (refused connect, timeout, DNS);
 * - `invalid`: the secret itself is unusable (a {@link SecretFormatError}; `field` names it);
 * - `error`: anything else (TLS failure, protocol error). `detail` is a code or a short
 *   reason, never a value.
 */
export interface LoginVerdict {
  readonly outcome: 'accepted' | 'rejected' | 'unreachable' | 'invalid' | 'error';
  readonly detail?: string;
  /** The secret field at fault, for `invalid`. */
  readonly field?: string;
  /** The login name tried (not a secret), when the secret has one. */
  readonly username?: string;
}

/** Options for {@link CredentialKind.checkLogin}. */
export interface LoginCheckOptions {
  /** The rotation function's environment when known (its `DEFAULT_SSL_MODE`, `ROTATION_MODE`, ...). */
  readonly env: NodeJS.ProcessEnv;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

/**
 * How long the credential a rotation replaces keeps working, which the conformance suite
 * checks against the real target:
 * - `until-next-rotation`: `AWSPREVIOUS` still logs in after finishSecret, and stops once
 *   the next rotation has finished (alternating users, two-password Redis users,
 *   overlapping provider keys);
 * - `until-finish`: the old value works until finishSecret, which revokes it (single-key
 *   API-key providers);
 * - `none`: the old value stops working at setSecret (single-user passwords);
 * - `not-checked`: nothing but Secrets Manager holds the value, or nothing revokes it (the
 *   example kind, self-issued API keys, whose verifiers decide what they accept).
 */
export type OverlapPolicy = 'until-next-rotation' | 'until-finish' | 'none' | 'not-checked';

/**
 * Everything about one kind of credential, in one module under `shared/strategies/<kind>/`.
 * The rotation functions build their strategy from it; the operator CLI recognises secrets,
 * checks their fields and tries their logins with it. A kind is added by one module, one
 * handler file and one line in `shared/kinds/registry.ts`.
 *
 * @example
 * ```ts
 * export const handler = rotationHandler(postgresKind, { serviceName: 'rotator-postgres' });
 * ```
 */
export interface CredentialKind {
  /** Registry key and short function name: `postgres`, `mysql`, `redis`, `apikey`, `example`. */
  readonly name: string;
  /** Human name for messages: `PostgreSQL`, `Redis`. */
  readonly label: string;
  /**
   * Words in a rotation function's name that mean this kind (`<stack>-postgres`), used when
   * a secret's own fields do not say.
   */
  readonly functionNameHints: readonly string[];
  /** Password policy defaults where the deployment's environment sets none. */
  readonly passwordDefaults?: Partial<PasswordPolicy>;
  /**
   * How long a credential replaced by a rotation keeps working, for a secret of this kind
   * under a function's environment (it can depend on `ROTATION_MODE` or on the secret, e.g.
   * self-issued against provider-issued keys). The conformance suite checks the answer
   * against the real target.
   */
  overlap(fields: Readonly<Record<string, unknown>>, env: NodeJS.ProcessEnv): OverlapPolicy;
  /**
   * Why `fields` (a parsed secret) is a secret of this kind by its own content (e.g.
   * `engine "postgres"`), or `undefined`. Never throws.
   */
  recognise(fields: Readonly<Record<string, unknown>>): string | undefined;
  /**
   * Validates the kind's environment variables, throwing `ConfigurationError` naming the
   * variable; called at start-up by the engine (before {@link createStrategy}) and by the CLI
   * on a function's environment.
   */
  validateEnvironment(env: NodeJS.ProcessEnv): void;
  /** Builds the rotation strategy for a function with this environment. */
  createStrategy(context: KindContext): RotationStrategy;
  /**
   * What a secret of this kind lacks, by field name and type only, under a function's
   * environment (`ROTATION_MODE` decides whether `masterarn` is needed, for example).
   */
  fieldProblems(fields: Readonly<Record<string, unknown>>, env: NodeJS.ProcessEnv): FieldProblem[];
  /**
   * Where the credential is used, read with the same code as the strategy (so a refused
   * TLS field throws the same `SecretFormatError`), or `undefined` when the secret does not
   * say.
   */
  target?(
    fields: Readonly<Record<string, unknown>>,
    env: NodeJS.ProcessEnv,
  ): KindTarget | undefined;
  /**
   * Tries the credential in `secretString` exactly as the strategy's `verify` (testSecret)
   * does, and returns the verdict instead of throwing. Absent when a kind's credential can
   * only be checked by the rotation itself.
   */
  checkLogin?(secretString: string, options: LoginCheckOptions): Promise<LoginVerdict>;
}
