import type { Socket } from 'node:net';
import type {
  CredentialKind,
  FieldProblem,
  KindTarget,
  LoginCheckOptions,
  LoginVerdict,
} from '../../kinds/CredentialKind.js';
import { defaultSslModeFromEnv, parseTlsSettings } from '../../kinds/tls.js';
import { loginVerdict } from '../../kinds/verdict.js';
import type { DialectSet } from './dialect.js';
import { databaseStrategy, validateDatabaseEnvironment } from './mode.js';
import { SecretResolver, verifySecretLogin } from './sessions.js';

/** What makes one database engine family a {@link CredentialKind}. */
export interface DatabaseKindSpec {
  readonly name: string;
  readonly label: string;
  readonly functionNameHints: readonly string[];
  /** The dialects for a function's environment (MySQL's username limit is configurable). */
  readonly dialects: (env: NodeJS.ProcessEnv) => DialectSet;
  /** `engine` values that mean this kind but that the functions do not accept (older AWS names). */
  readonly engineAliases?: readonly string[];
  /** Negotiates TLS inside the engine's protocol, for operator TLS checks. */
  readonly startTls: (socket: Socket, timeoutMs: number) => Promise<boolean>;
}

function isAlternating(env: NodeJS.ProcessEnv): boolean {
  return env.ROTATION_MODE?.trim().toLowerCase() === 'alternating-users';
}

/**
 * Parses secrets as a function with `env` would: alternating users require `engine` and
 * `masterarn`; TLS defaults to its `DEFAULT_SSL_MODE`. An unknown or missing mode (an
 * operator tool that could not read the function's environment) parses as single-user.
 */
function resolverFor(dialects: DialectSet, env: NodeJS.ProcessEnv): SecretResolver {
  return new SecretResolver(dialects, {
    alternating: isAlternating(env),
    defaultSslMode: defaultSslModeFromEnv(env),
  });
}

/**
 * A database engine family as a {@link CredentialKind}: the strategy, field checks, target
 * and login check all go through the same {@link SecretResolver} and connectors, so the
 * operator CLI and testSecret reach the same verdict on the same secret.
 */
export function databaseKind(spec: DatabaseKindSpec): CredentialKind {
  const probeDialects = spec.dialects({});
  const engines = new Set([...Object.keys(probeDialects.byEngine), ...(spec.engineAliases ?? [])]);
  return {
    name: spec.name,
    label: spec.label,
    functionNameHints: spec.functionNameHints,
    overlap: (_fields, env) => (isAlternating(env) ? 'until-next-rotation' : 'none'),
    ...(probeDialects.passwordDefaults ? { passwordDefaults: probeDialects.passwordDefaults } : {}),
    recognise(fields) {
      const engine = typeof fields.engine === 'string' ? fields.engine.toLowerCase() : undefined;
      return engine !== undefined && engines.has(engine) ? `engine "${engine}"` : undefined;
    },
    validateEnvironment(env) {
      validateDatabaseEnvironment(env);
      spec.dialects(env);
    },
    createStrategy(context) {
      return databaseStrategy(spec.dialects(context.env), context);
    },
    fieldProblems(fields, env): FieldProblem[] {
      return resolverFor(spec.dialects(env), env).fieldProblems(fields, 'AWSCURRENT');
    },
    target(fields, env): KindTarget | undefined {
      const { host } = fields;
      if (typeof host !== 'string' || host === '') return undefined;
      const tls = parseTlsSettings(fields, defaultSslModeFromEnv(env));
      const dialects = spec.dialects(env);
      const engine = typeof fields.engine === 'string' ? fields.engine : dialects.defaultEngine;
      const dialect = dialects.byEngine[engine] ?? dialects.byEngine[dialects.defaultEngine];
      const port = Number(fields.port ?? dialect?.secretDefaults.defaultPort);
      if (!Number.isInteger(port) || port < 1 || port > 65_535) return undefined;
      return {
        what: 'the database',
        host,
        port,
        tls: { mode: tls.mode, ...(tls.ca !== undefined ? { ca: tls.ca } : {}) },
        startTls: spec.startTls,
      };
    },
    async checkLogin(secretString: string, options: LoginCheckOptions): Promise<LoginVerdict> {
      return loginVerdict(async (progress) => {
        const resolver = resolverFor(spec.dialects(options.env), options.env);
        await verifySecretLogin(
          resolver,
          secretString,
          'secret',
          { signal: options.signal, connectTimeoutMs: options.timeoutMs },
          progress,
        );
      });
    },
  };
}
