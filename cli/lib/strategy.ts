import type { CredentialKind, FieldProblem } from '../../shared/kinds/CredentialKind.js';
import { classifySecret as classifyByRegistry, kindNamed } from '../../shared/kinds/registry.js';
import {
  AWS_DEFAULT_PASSWORD_POLICY,
  characterClasses,
  type PasswordPolicy,
  passwordPolicyFromEnv,
} from '../../shared/secrets/passwords.js';
import { functionName } from './secretState.js';

/** A registered kind's name (`postgres`, `mysql`, `apikey`, ...), or `unknown`. */
export type StrategyKind = string;

/** How the kind was decided, for the explanation. */
export interface Classification {
  kind: StrategyKind;
  because: string;
}

export type { FieldProblem };

/**
 * Decides a secret's kind with the kind registry: by its own fields (a database `engine`),
 * else by the rotator's function name (`<stack>-postgres`), else by a looser field.
 */
export function classifySecret(
  json: Record<string, unknown> | undefined,
  rotationLambdaArn: string | undefined,
): Classification {
  const match = classifyByRegistry(json, functionName(rotationLambdaArn));
  return { kind: match.kind?.name ?? 'unknown', because: match.because };
}

/**
 * A secret's kind, and its target as the kind reads it (`postgres db1.internal:5432`), from
 * the fields of its AWSCURRENT value; no target when the kind does not say or the fields do
 * not parse (the rotation itself reports those).
 */
export function credentialTarget(
  fields: Record<string, unknown> | undefined,
  rotationLambdaArn: string | undefined,
): { kind: StrategyKind; target?: string } {
  const kind = classifySecret(fields, rotationLambdaArn).kind;
  try {
    const target = fields ? kindNamed(kind)?.target?.(fields, {}) : undefined;
    return target ? { kind, target: `${kind} ${target.host}:${target.port}` } : { kind };
  } catch {
    return { kind };
  }
}

/** The registered kind of that name. */
export function kindOf(kind: StrategyKind): CredentialKind | undefined {
  return kindNamed(kind);
}

/** True for kinds whose credentials the CLI can try itself (their module has a login check). */
export function canTryLogins(kind: StrategyKind): boolean {
  return kindNamed(kind)?.checkLogin !== undefined;
}

/**
 * The fields the kind needs, checked with the kind's own rules, by name and type only
 * (values are never shown). `env` is the function's environment when known.
 */
export function fieldProblems(
  kind: StrategyKind,
  json: Record<string, unknown>,
  env: Record<string, string> = {},
): FieldProblem[] {
  return kindNamed(kind)?.fieldProblems(json, env) ?? [];
}
/** Characters that break common connection-string forms, and why. */
export const CONNECTION_STRING_HAZARDS: Readonly<Record<string, string>> = Object.freeze({
  ':': 'separates fields in .pgpass and user:password in URLs',
  '@': 'ends the credentials in a URL',
  '/': 'starts the path in a URL',
  '%': 'is decoded as an escape in URLs and JDBC properties',
  ';': 'separates keys in ADO.NET/ODBC/JDBC connection strings',
  '?': 'starts the query in a URL',
  '#': 'starts the fragment in a URL',
  '&': 'separates URL query parameters',
  '=': 'separates keys from values in connection strings',
  '+': 'is decoded as a space in URL query strings',
  '{': 'is ODBC quoting',
  '}': 'is ODBC quoting',
  "'": 'is a quote in SQL and shells',
  '"': 'is a quote in SQL, JSON and shells',
  '\\': 'is an escape in SQL strings, JSON and shells',
  '`': 'is command substitution in shells',
  ' ': 'splits libpq key=value strings and command lines',
});

/** The result of {@link passwordPolicyHazards}. */
export interface PolicyHazards {
  policy: PasswordPolicy;
  /** Characters the policy can generate that break some connection string form. */
  unsafe: string[];
  /** Where the policy came from. */
  source: 'function environment' | 'defaults';
}

/**
 * Which connection-string-unsafe characters a function's password policy can generate. The
 * policy is the function's environment (when it was readable) over the strategy's defaults,
 * read with the same code the functions use.
 */
export function passwordPolicyHazards(
  kind: StrategyKind,
  env: Record<string, string> | undefined,
): PolicyHazards {
  let policy: PasswordPolicy;
  try {
    policy = passwordPolicyFromEnv(env ?? {}, kindNamed(kind)?.passwordDefaults);
  } catch {
    policy = { ...AWS_DEFAULT_PASSWORD_POLICY, ...kindNamed(kind)?.passwordDefaults };
  }
  const alphabet = new Set(characterClasses(policy).join(''));
  const unsafe = Object.keys(CONNECTION_STRING_HAZARDS).filter((c) => alphabet.has(c));
  return { policy, unsafe, source: env ? 'function environment' : 'defaults' };
}
