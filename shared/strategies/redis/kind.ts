import type { RotationStrategy } from '../../engine/types.js';
import { RotationError } from '../../errors.js';
import type {
  CredentialKind,
  FieldProblem,
  KindContext,
  KindTarget,
  LoginCheckOptions,
  LoginVerdict,
} from '../../kinds/CredentialKind.js';
import { rotationModeFromEnv } from '../../kinds/rotationMode.js';
import { defaultSslModeFromEnv, parseTlsSettings } from '../../kinds/tls.js';
import { loginVerdict } from '../../kinds/verdict.js';
import { RedisAlternatingUsersStrategy } from './AlternatingUsersStrategy.js';
import { connectRedis, type RedisConnector } from './connection.js';
import { verifyRedisLogin } from './login.js';
import { REDIS_PASSWORD_DEFAULTS } from './options.js';
import { RedisSingleUserStrategy } from './SingleUserStrategy.js';
import { REDIS_DEFAULT_PORT, REDIS_ENGINES } from './secret.js';

/** What the function's `ROTATION_MODE` asks of a secret. */
function requiresMasterArn(env: NodeJS.ProcessEnv): boolean {
  try {
    return rotationModeFromEnv(env) === 'alternating-users';
  } catch {
    return false;
  }
}

function stringProblem(
  fields: Readonly<Record<string, unknown>>,
  field: string,
  required: boolean,
): FieldProblem | undefined {
  const value = fields[field];
  if (value === undefined || value === null) {
    return required ? { field, problem: 'is missing', severity: 'error' } : undefined;
  }
  if (typeof value !== 'string' || value.length === 0) {
    return { field, problem: 'must be a non-empty string', severity: 'error' };
  }
  return undefined;
}

function portOf(fields: Readonly<Record<string, unknown>>): number | undefined {
  const raw = fields.port;
  if (raw === undefined || raw === null || raw === '') return REDIS_DEFAULT_PORT;
  const port = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : Number.NaN;
  return Number.isInteger(port) && port >= 1 && port <= 65_535 ? port : undefined;
}

/**
 * Builds a Redis kind on a given connector; {@link redisKind} uses ioredis. Tests pass a
 * fake connector to check the kind's logic without a server.
 */
export function createRedisKind(connect: RedisConnector = connectRedis): CredentialKind {
  return {
    name: 'redis',
    label: 'Redis',
    functionNameHints: ['redis', 'valkey'],
    passwordDefaults: REDIS_PASSWORD_DEFAULTS,
    overlap: () => 'until-next-rotation',

    recognise(fields) {
      const engine = fields.engine;
      return typeof engine === 'string' && REDIS_ENGINES.includes(engine)
        ? `engine "${engine}"`
        : undefined;
    },

    validateEnvironment(env) {
      rotationModeFromEnv(env);
      defaultSslModeFromEnv(env);
    },

    createStrategy(context: KindContext): RotationStrategy {
      const options = {
        connectTimeoutMs: context.connectTimeoutMs,
        defaultSslMode: defaultSslModeFromEnv(context.env),
        adminSecrets: context.adminSecrets,
        connect,
      };
      return rotationModeFromEnv(context.env) === 'single-user'
        ? new RedisSingleUserStrategy(options)
        : new RedisAlternatingUsersStrategy(options);
    },

    fieldProblems(fields, env) {
      const problems: FieldProblem[] = [];
      const add = (problem: FieldProblem | undefined) => {
        if (problem) problems.push(problem);
      };
      add(stringProblem(fields, 'host', true));
      add(stringProblem(fields, 'username', true));
      add(stringProblem(fields, 'password', true));
      add(stringProblem(fields, 'masterarn', requiresMasterArn(env)));
      if (typeof fields.username === 'string' && /\s/u.test(fields.username)) {
        add({ field: 'username', problem: 'must not contain white space', severity: 'error' });
      }
      if (fields.engine !== undefined && this.recognise(fields) === undefined) {
        add({
          field: 'engine',
          problem: `must be one of ${REDIS_ENGINES.join(', ')}`,
          severity: 'error',
        });
      }
      if (portOf(fields) === undefined) {
        add({
          field: 'port',
          problem: 'must be a whole number from 1 to 65535',
          severity: 'error',
        });
      }
      try {
        parseTlsSettings(fields, defaultSslModeFromEnv(env));
      } catch (error) {
        if (!(error instanceof RotationError)) throw error;
        const field = (error as { field?: string }).field ?? 'sslMode';
        add({ field, problem: error.message, severity: 'error' });
      }
      return problems;
    },

    target(fields, env): KindTarget | undefined {
      const port = portOf(fields);
      if (typeof fields.host !== 'string' || fields.host === '' || port === undefined) {
        return undefined;
      }
      const tls = parseTlsSettings(fields, defaultSslModeFromEnv(env));
      return {
        what: 'the Redis server',
        host: fields.host,
        port,
        tls: { mode: tls.mode, ...(tls.ca !== undefined ? { ca: tls.ca } : {}) },
      };
    },

    checkLogin(secretString: string, options: LoginCheckOptions): Promise<LoginVerdict> {
      return loginVerdict((progress) =>
        verifyRedisLogin(
          secretString,
          {
            connect,
            signal: options.signal,
            connectTimeoutMs: options.timeoutMs,
            defaultSslMode: defaultSslModeFromEnv(options.env),
          },
          progress,
        ),
      );
    },
  };
}

/**
 * Redis and Valkey 7+ ACL users (self-managed servers): single-user rotation with
 * two-password overlap, or alternating users cloned with the current user's rules; admin
 * via `masterarn`; TLS like the databases. See docs/redis.md.
 *
 * @example
 * ```ts
 * export const handler = rotationHandler(redisKind, { serviceName: 'rotator-redis' });
 * ```
 */
export const redisKind: CredentialKind = createRedisKind();
