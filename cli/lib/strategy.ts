import {
  AWS_DEFAULT_PASSWORD_POLICY,
  characterClasses,
  type PasswordPolicy,
  passwordPolicyFromEnv,
} from '../../shared/secrets/passwords.js';
import { functionName } from './secretState.js';

/** The credential kinds our functions rotate, as far as an operator tool needs to know. */
export type StrategyKind = 'postgres' | 'mysql' | 'apikey' | 'example' | 'unknown';

/** How the kind was decided, for the explanation. */
export interface Classification {
  kind: StrategyKind;
  because: string;
}

const POSTGRES_ENGINES = new Set(['postgres', 'postgresql', 'aurora-postgresql']);
const MYSQL_ENGINES = new Set(['mysql', 'mariadb', 'aurora-mysql', 'aurora']);

/**
 * Decides a secret's strategy from its JSON `engine` field (as AWS's functions do), else
 * from the rotator's function name (`<stack>-postgres`, `-mysql`, `-apikey`, `-example`),
 * else from an `apiKey` field.
 */
export function classifySecret(
  json: Record<string, unknown> | undefined,
  rotationLambdaArn: string | undefined,
): Classification {
  const engine = typeof json?.engine === 'string' ? json.engine.toLowerCase() : undefined;
  if (engine && POSTGRES_ENGINES.has(engine))
    return { kind: 'postgres', because: `engine "${engine}"` };
  if (engine && MYSQL_ENGINES.has(engine)) return { kind: 'mysql', because: `engine "${engine}"` };
  const name = functionName(rotationLambdaArn)?.toLowerCase() ?? '';
  if (name.includes('postgres')) return { kind: 'postgres', because: `rotator ${name}` };
  if (name.includes('mysql') || name.includes('mariadb'))
    return { kind: 'mysql', because: `rotator ${name}` };
  if (name.includes('apikey') || name.includes('api-key'))
    return { kind: 'apikey', because: `rotator ${name}` };
  if (name.includes('example')) return { kind: 'example', because: `rotator ${name}` };
  if (json && 'apiKey' in json) return { kind: 'apikey', because: 'an apiKey field' };
  return {
    kind: 'unknown',
    because: engine ? `unknown engine "${engine}"` : 'no engine field and an unknown rotator',
  };
}

/** True for the database kinds, whose credentials the CLI can try itself. */
export function isDatabase(kind: StrategyKind): kind is 'postgres' | 'mysql' {
  return kind === 'postgres' || kind === 'mysql';
}

/** A field the strategy needs that the secret lacks or has in the wrong type. */
export interface FieldProblem {
  field: string;
  problem: string;
  severity: 'error' | 'warning';
}

function checkString(
  json: Record<string, unknown>,
  field: string,
  severity: 'error' | 'warning' = 'error',
): FieldProblem[] {
  const value = json[field];
  if (value === undefined || value === null) return [{ field, problem: 'is missing', severity }];
  if (typeof value !== 'string' || value === '')
    return [{ field, problem: 'must be a non-empty string', severity }];
  return [];
}

/**
 * The fields a strategy needs, checked by name and type only (values are never shown).
 * `env` is the function's environment when known (ROTATION_MODE, API_KEY_FIELD).
 */
export function fieldProblems(
  kind: StrategyKind,
  json: Record<string, unknown>,
  env: Record<string, string> = {},
): FieldProblem[] {
  switch (kind) {
    case 'postgres':
    case 'mysql': {
      const problems = [
        ...checkString(json, 'host'),
        ...checkString(json, 'username'),
        ...checkString(json, 'password'),
      ];
      // Single-user functions tolerate a missing engine (AWS's do too); alternating-users require it.
      const alternating = env.ROTATION_MODE === 'alternating-users';
      problems.push(...checkString(json, 'engine', alternating ? 'error' : 'warning'));
      if (alternating) problems.push(...checkString(json, 'masterarn'));
      const port = json.port;
      if (
        port !== undefined &&
        !(typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65_536) &&
        !(typeof port === 'string' && /^\d{1,5}$/.test(port.trim()))
      ) {
        problems.push({ field: 'port', problem: 'must be a port number', severity: 'error' });
      }
      return problems;
    }
    case 'apikey':
      return checkString(json, env.API_KEY_FIELD || 'apiKey');
    case 'example':
      return checkString(json, 'password');
    default:
      return [];
  }
}

/** The default port of a database kind. */
export function defaultPort(kind: 'postgres' | 'mysql'): number {
  return kind === 'postgres' ? 5432 : 3306;
}

/**
 * Per-kind password defaults of our functions: PostgreSQL also excludes `:` (it breaks
 * `.pgpass`), as POSTGRES_PASSWORD_DEFAULTS in shared/strategies/postgres.
 */
export function strategyPasswordDefaults(kind: StrategyKind): Partial<PasswordPolicy> {
  return kind === 'postgres' ? { excludeCharacters: ':/@"\'\\' } : {};
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
    policy = passwordPolicyFromEnv(env ?? {}, strategyPasswordDefaults(kind));
  } catch {
    policy = { ...AWS_DEFAULT_PASSWORD_POLICY, ...strategyPasswordDefaults(kind) };
  }
  const alphabet = new Set(characterClasses(policy).join(''));
  const unsafe = Object.keys(CONNECTION_STRING_HAZARDS).filter((c) => alphabet.has(c));
  return { policy, unsafe, source: env ? 'function environment' : 'defaults' };
}
