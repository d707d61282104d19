import { SecretFormatError } from '../../errors.js';
import { parseTlsSettings, type SslMode, type TlsSettings } from '../../kinds/tls.js';
import { parseSecretObject } from '../../secrets/secretJson.js';

/**
 * A database login as stored in Secrets Manager, in the JSON format of AWS's rotation
 * functions. `fields` keeps the whole parsed object so unknown keys survive a rotation.
 */
export interface DatabaseSecret {
  /** The `engine` field, or the function's default engine when the field is absent. */
  readonly engine: string;
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  /** Database to connect to; `undefined` = the engine's default (none for MySQL). */
  readonly dbname: string | undefined;
  /** ARN of the admin secret (alternating-users mode). */
  readonly masterarn: string | undefined;
  readonly tls: TlsSettings;
  /** Every field of the JSON object, untouched. */
  readonly fields: Readonly<Record<string, unknown>>;
}

/** What a function accepts: engines, defaults and required fields. */
export interface DatabaseSecretSchema {
  /** Accepted `engine` values, e.g. `postgres`, `aurora-postgresql`. */
  readonly engines: readonly string[];
  /** Engine assumed when the field is absent (single-user mode tolerates that, as AWS). */
  readonly defaultEngine: string;
  /** Port when `port` is absent (5432 / 3306). */
  readonly defaultPort: number;
  /** Database when `dbname` is absent (`postgres` for PostgreSQL, none for MySQL). */
  readonly defaultDbname?: string;
  /** `engine` must be present (alternating-users, as AWS). */
  readonly requireEngine?: boolean;
  /** `masterarn` must be present (alternating-users). */
  readonly requireMasterArn?: boolean;
  /** TLS mode when the secret has neither `ssl` nor `sslMode`. */
  readonly defaultSslMode?: SslMode;
}

/**
 * Refuses a NUL character in a login field: no server accepts one (PostgreSQL's wire
 * protocol ends strings at NUL), so it would only fail later as an unnamed driver error.
 */
export function rejectNul(value: string, field: string, which: string): string {
  if (value.includes('\u0000')) {
    throw new SecretFormatError(field, `must not contain a NUL character in the ${which} value`);
  }
  return value;
}

function requiredString(fields: Record<string, unknown>, field: string, which: string): string {
  const value = fields[field];
  if (value === undefined || value === null) {
    throw new SecretFormatError(field, `is missing from the ${which} value`);
  }
  if (typeof value !== 'string' || value.length === 0) {
    throw new SecretFormatError(field, `must be a non-empty string in the ${which} value`);
  }
  return rejectNul(value, field, which);
}

function optionalString(
  fields: Record<string, unknown>,
  field: string,
  which: string,
): string | undefined {
  const value = fields[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length === 0) {
    throw new SecretFormatError(field, `must be a non-empty string in the ${which} value`);
  }
  return value;
}

function parsePort(value: unknown, fallback: number, which: string): number {
  if (value === undefined || value === null || value === '') return fallback;
  // AWS's functions call int(port): numbers and digit strings are both in use.
  const port =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\s*\d+\s*$/.test(value)
        ? Number(value)
        : Number.NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new SecretFormatError(
      'port',
      `must be a whole number from 1 to 65535 in the ${which} value`,
    );
  }
  return port;
}

/**
 * Parses and validates a database `SecretString`. Throws {@link SecretFormatError} naming
 * the field (never its value). `which` names the version in messages (`AWSCURRENT`, ...).
 */
export function parseDatabaseSecret(
  secretString: string,
  schema: DatabaseSecretSchema,
  which = 'secret',
): DatabaseSecret {
  const fields = parseSecretObject(secretString);
  const rawEngine = fields.engine;
  let engine: string;
  if (rawEngine === undefined || rawEngine === null) {
    if (schema.requireEngine)
      throw new SecretFormatError('engine', `is missing from the ${which} value`);
    engine = schema.defaultEngine;
  } else if (typeof rawEngine !== 'string' || !schema.engines.includes(rawEngine)) {
    throw new SecretFormatError(
      'engine',
      `must be one of ${schema.engines.join(', ')} in the ${which} value`,
    );
  } else {
    engine = rawEngine;
  }
  const masterarn = optionalString(fields, 'masterarn', which);
  if (schema.requireMasterArn && masterarn === undefined) {
    throw new SecretFormatError('masterarn', `is missing from the ${which} value`);
  }
  return {
    engine,
    host: requiredString(fields, 'host', which),
    port: parsePort(fields.port, schema.defaultPort, which),
    username: requiredString(fields, 'username', which),
    password: requiredString(fields, 'password', which),
    dbname: optionalString(fields, 'dbname', which) ?? schema.defaultDbname,
    masterarn,
    tls: parseTlsSettings(fields, schema.defaultSslMode),
    fields,
  };
}

/** A field problem found by {@link databaseFieldProblems}. */
export interface DatabaseFieldProblem {
  readonly field: string;
  readonly problem: string;
  readonly severity: 'error' | 'warning';
}

/**
 * Every field problem of a database secret, with the parser's own checks (so an operator
 * tool and the function agree), instead of stopping at the first as
 * {@link parseDatabaseSecret} does. A missing `engine` where the schema tolerates it is a
 * warning (the function assumes its default engine).
 */
export function databaseFieldProblems(
  fields: Readonly<Record<string, unknown>>,
  schema: DatabaseSecretSchema,
  which = 'secret',
): DatabaseFieldProblem[] {
  const problems: DatabaseFieldProblem[] = [];
  const check = (work: () => unknown) => {
    try {
      work();
    } catch (error) {
      if (!(error instanceof SecretFormatError)) throw error;
      problems.push({ field: error.field, problem: error.problem, severity: 'error' });
    }
  };
  const record = fields as Record<string, unknown>;
  for (const field of ['host', 'username', 'password']) {
    check(() => requiredString(record, field, which));
  }
  if (record.engine === undefined || record.engine === null) {
    problems.push({
      field: 'engine',
      problem: `is missing from the ${which} value`,
      severity: schema.requireEngine ? 'error' : 'warning',
    });
  } else if (typeof record.engine !== 'string' || !schema.engines.includes(record.engine)) {
    problems.push({
      field: 'engine',
      problem: `must be one of ${schema.engines.join(', ')} in the ${which} value`,
      severity: 'error',
    });
  }
  check(() => {
    if (optionalString(record, 'masterarn', which) === undefined && schema.requireMasterArn) {
      throw new SecretFormatError('masterarn', `is missing from the ${which} value`);
    }
  });
  check(() => parsePort(record.port, schema.defaultPort, which));
  check(() => optionalString(record, 'dbname', which));
  check(() => parseTlsSettings(record, schema.defaultSslMode));
  return problems;
}

/**
 * The `SecretString` of `secret` with a new login: every other field, known or not, is
 * kept as it was (AWS's functions copy the whole dictionary too).
 */
export function withLogin(
  secret: DatabaseSecret,
  login: { username: string; password: string },
): string {
  return JSON.stringify({ ...secret.fields, username: login.username, password: login.password });
}
