import { describe, expect, it } from 'vitest';
import type { PendingRequest, RotationLogger } from '../../shared/engine/types.js';
import { ConfigurationError, CredentialRejectedError } from '../../shared/errors.js';
import { persistAcl } from '../../shared/strategies/redis/acl.js';
import type { RedisConnector, RedisSession } from '../../shared/strategies/redis/connection.js';
import {
  RedisCommandError,
  RedisConnectionError,
  RedisLoginRefusedError,
} from '../../shared/strategies/redis/errors.js';
import { aclPasswordHash } from '../../shared/strategies/redis/hashing.js';
import { createRedisKind, redisKind } from '../../shared/strategies/redis/kind.js';

const ADMIN_ARN = 'arn:aws:secretsmanager:us-east-1:1:secret:admin';

interface Sent {
  readonly as: string;
  readonly args: readonly string[];
}

/**
 * A fake Redis behind the {@link RedisConnector} contract: `passwords` says who may log in,
 * `reply` answers commands (throw `Error('NOPERM ...')` for an error reply), `sent` records
 * every command with the login that sent it.
 */
function fakeRedis(
  passwords: Record<string, string[]>,
  reply: (args: readonly string[], as: string) => unknown = () => 'OK',
  connectError?: Error,
) {
  const sent: Sent[] = [];
  const connect: RedisConnector = async (login) => {
    if (connectError)
      throw new RedisConnectionError(
        connectError.message,
        (connectError as NodeJS.ErrnoException).code,
      );
    if (!(passwords[login.username] ?? []).includes(login.password)) {
      throw new RedisLoginRefusedError('refused (WRONGPASS)', 'WRONGPASS');
    }
    const session: RedisSession = {
      async command(operation, args) {
        sent.push({ as: login.username, args });
        try {
          return reply(args, login.username);
        } catch (error) {
          const code = /^([A-Z]+)/.exec((error as Error).message)?.[1];
          throw new RedisCommandError(operation, code, { cause: error });
        }
      },
      async close() {},
    };
    return session;
  };
  return { connect, sent };
}

function logger() {
  const lines: { level: string; message: string }[] = [];
  const log = (level: string) => (message: string) => lines.push({ level, message });
  return {
    lines,
    logger: {
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      debug: log('debug'),
    } as unknown as RotationLogger,
  };
}

function request(values: { current: string; pending?: string; previous?: string }) {
  const registered: string[] = [];
  const { lines, logger: log } = logger();
  const req: PendingRequest = {
    secretId: 'arn:rotated',
    token: 'token',
    step: 'setSecret',
    logger: log,
    signal: new AbortController().signal,
    current: async () => values.current,
    previous: async () => values.previous,
    pending: async () => values.pending ?? values.current,
    registerSecret: (value) => registered.push(value),
  };
  return { req, registered, lines };
}

const secret = (fields: Record<string, unknown>) =>
  JSON.stringify({ host: 'cache.example', username: 'app', sslMode: 'disable', ...fields });
const admin = {
  current: async () => JSON.stringify({ username: 'root', password: 'pw-root' }),
};
const single = (connect: RedisConnector) =>
  createRedisKind(connect).createStrategy({
    env: { ROTATION_MODE: 'single-user' },
    connectTimeoutMs: 1_000,
    adminSecrets: admin,
  });

describe('redisKind', () => {
  it('recognises engine redis and valkey, nothing else', () => {
    expect(redisKind.recognise({ engine: 'redis' })).toBe('engine "redis"');
    expect(redisKind.recognise({ engine: 'valkey' })).toBe('engine "valkey"');
    expect(redisKind.recognise({ engine: 'postgres' })).toBeUndefined();
    expect(redisKind.recognise({ user_arn: 'arn:aws:elasticache:r:1:user:u' })).toBeUndefined();
  });

  it('declares its overlap, password defaults and function name hints', () => {
    expect(redisKind.overlap({}, { ROTATION_MODE: 'single-user' })).toBe('until-next-rotation');
    expect(redisKind.passwordDefaults?.excludeCharacters).toBe('/@"\'\\');
    expect(redisKind.functionNameHints).toContain('redis');
  });

  it.each([
    ['ROTATION_MODE', {}],
    ['ROTATION_MODE', { ROTATION_MODE: 'multi' }],
    ['DEFAULT_SSL_MODE', { ROTATION_MODE: 'single-user', DEFAULT_SSL_MODE: 'prefer' }],
  ])('validateEnvironment refuses a bad %s', (field, env) => {
    expect(() => redisKind.validateEnvironment(env)).toThrow(ConfigurationError);
    try {
      redisKind.validateEnvironment(env);
    } catch (error) {
      expect((error as ConfigurationError).field).toBe(field);
    }
  });

  const strategy = (mode: string) =>
    redisKind.createStrategy({
      env: { ROTATION_MODE: mode },
      connectTimeoutMs: 1,
      adminSecrets: admin,
    });

  it('builds the strategy ROTATION_MODE asks for', () => {
    expect(strategy('single-user').name).toBe('redis-single-user');
    expect(strategy('alternating-users').name).toBe('redis-alternating-users');
  });

  it('alternating users name the admin secret (masterarn) for the engine to read with the current value; single-user names none', () => {
    const value = (extra: Record<string, unknown>) =>
      JSON.stringify({ engine: 'redis', host: 'cache', username: 'app', password: 'x', ...extra });
    const alternating = strategy('alternating-users');
    expect(alternating.companionSecrets?.(value({ masterarn: ADMIN_ARN }))).toEqual([ADMIN_ARN]);
    // Single-user setSecret can change the credential in use: it keeps DescribeSecret.
    expect(strategy('single-user').companionSecrets).toBeUndefined();
  });

  it('fieldProblems names missing and malformed fields only, masterarn under alternating-users', () => {
    const fields = {
      host: 'h',
      username: 'a b',
      password: 'x',
      port: 'http',
      ssl: false,
      sslMode: 'require',
    };
    const problems = redisKind.fieldProblems(fields, { ROTATION_MODE: 'alternating-users' });
    expect(problems.map((p) => p.field).sort()).toEqual([
      'masterarn',
      'port',
      'sslMode',
      'username',
    ]);
    expect(JSON.stringify(problems)).not.toContain('"x"');
    expect(
      redisKind.fieldProblems(
        { host: 'h', username: 'u', password: 'p' },
        { ROTATION_MODE: 'single-user' },
      ),
    ).toEqual([]);
  });

  it('target reads host, port and TLS with the strategy rules', () => {
    expect(redisKind.target?.({ host: 'h', port: '6380', sslMode: 'require' }, {})).toEqual({
      what: 'the Redis server',
      host: 'h',
      port: 6380,
      tls: { mode: 'require' },
    });
    expect(redisKind.target?.({ port: 1 }, {})).toBeUndefined();
  });

  describe('checkLogin', () => {
    const check = (connect: RedisConnector, value: string) =>
      createRedisKind(connect).checkLogin?.(value, {
        env: {},
        timeoutMs: 1_000,
        signal: new AbortController().signal,
      });

    it('accepted, and accepted when the user may not PING (NOPERM after a successful AUTH)', async () => {
      const { connect } = fakeRedis({ app: ['pw'] });
      expect(await check(connect, secret({ password: 'pw' }))).toEqual({
        outcome: 'accepted',
        username: 'app',
      });
      const noPing = fakeRedis({ app: ['pw'] }, () => {
        throw new Error("NOPERM this user has no permissions to run the 'ping' command");
      });
      expect((await check(noPing.connect, secret({ password: 'pw' })))?.outcome).toBe('accepted');
    });

    it('rejected, unreachable, invalid', async () => {
      const { connect } = fakeRedis({ app: ['pw'] });
      expect(await check(connect, secret({ password: 'nope' }))).toMatchObject({
        outcome: 'rejected',
        username: 'app',
      });
      const down = fakeRedis(
        {},
        undefined,
        Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      );
      expect(await check(down.connect, secret({ password: 'pw' }))).toMatchObject({
        outcome: 'unreachable',
        detail: 'ECONNREFUSED',
      });
      expect(await check(connect, 'not json')).toMatchObject({
        outcome: 'invalid',
        field: 'SecretString',
      });
    });
  });
});

describe('Redis single-user strategy (fake server)', () => {
  const [p0, p1, p2] = ['pw-zero', 'pw-one', 'pw-two'];
  const [h0, h1, h2] = [p0, p1, p2].map(aclPasswordHash) as [string, string, string];

  it('apply: proves the user, then as admin adds the pending hash and saves the ACL file; the hash is registered', async () => {
    const { connect, sent } = fakeRedis({ app: [p0], root: ['pw-root'] }, (args) =>
      args[0] === 'CONFIG' ? ['aclfile', '/etc/redis/users.acl'] : 'OK',
    );
    const { req, registered } = request({
      current: secret({ password: p0, masterarn: ADMIN_ARN }),
      pending: secret({ password: p1, masterarn: ADMIN_ARN }),
    });
    await single(connect).apply(req);
    expect(sent).toEqual([
      { as: 'root', args: ['ACL', 'SETUSER', 'app', `#${h1}`] },
      { as: 'root', args: ['CONFIG', 'GET', 'aclfile'] },
      { as: 'root', args: ['ACL', 'SAVE'] },
    ]);
    expect(registered).toContain(h1);
    expect(registered).toContain('pw-root');
  });

  it('apply without masterarn: a user lacking acl|setuser gets an error naming the rights it needs', async () => {
    const { connect } = fakeRedis({ app: [p0] }, () => {
      throw new Error("NOPERM this user has no permissions to run the 'acl|setuser' command");
    });
    const { req } = request({
      current: secret({ password: p0 }),
      pending: secret({ password: p1 }),
    });
    const error = await single(connect)
      .apply(req)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialRejectedError);
    expect((error as Error).message).toMatch(/\+acl\|setuser \+acl\|getuser/);
  });

  it('apply refuses a pending value for another user, naming the field', async () => {
    const { connect } = fakeRedis({ app: [p0] });
    const { req } = request({
      current: secret({ password: p0 }),
      pending: secret({ username: 'other', password: p1 }),
    });
    await expect(single(connect).apply(req)).rejects.toThrow(/"username"/);
  });

  it('afterPromotion removes every hash but AWSCURRENT and AWSPREVIOUS, in one command', async () => {
    const { connect, sent } = fakeRedis({ app: [p2] }, (args) => {
      if (args[1] === 'GETUSER')
        return ['flags', ['on'], 'passwords', [h0, h1, h2], 'commands', '+@all'];
      if (args[0] === 'CONFIG') return ['aclfile', ''];
      return 'OK';
    });
    const { req, registered, lines } = request({
      current: secret({ password: p2 }),
      previous: secret({ password: p1 }),
    });
    await single(connect).afterPromotion?.(req);
    expect(sent.map((s) => s.args)).toContainEqual(['ACL', 'SETUSER', 'app', `!${h0}`]);
    expect(registered).toEqual(expect.arrayContaining([h0, h1, h2]));
    expect(lines.some((l) => l.level === 'warn' && /no ACL file/.test(l.message))).toBe(true);
  });

  it('afterPromotion removes nothing when the AWSCURRENT password is not among the user hashes', async () => {
    const { connect, sent } = fakeRedis({ app: [p2] }, (args) =>
      args[1] === 'GETUSER' ? ['flags', ['on'], 'passwords', [h0], 'commands', '+@all'] : 'OK',
    );
    const { req } = request({
      current: secret({ password: p2 }),
      previous: secret({ password: p1 }),
    });
    await expect(single(connect).afterPromotion?.(req)).rejects.toThrow(CredentialRejectedError);
    expect(sent.filter((s) => s.args[1] === 'SETUSER')).toEqual([]);
  });
});

describe('persistAcl', () => {
  const session = (reply: (args: readonly string[]) => unknown): RedisSession => ({
    async command(operation, args) {
      try {
        return reply(args);
      } catch (error) {
        throw new RedisCommandError(operation, /^([A-Z]+)/.exec((error as Error).message)?.[1], {
          cause: error,
        });
      }
    },
    async close() {},
  });
  const noperm = () => {
    throw new Error('NOPERM no permissions');
  };

  it('without config|get, tries ACL SAVE and reads "not configured" as no ACL file', async () => {
    const result = await persistAcl(
      session((args) => {
        if (args[0] === 'CONFIG') noperm();
        throw new Error(
          'ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE',
        );
      }),
      logger().logger,
    );
    expect(result).toBe('no-acl-file');
  });

  it('without config|get nor acl|save, fails: a restart could bring back a file in which no kept password logs in', async () => {
    const error = await persistAcl(session(noperm), logger().logger).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisCommandError);
    expect((error as RedisCommandError).code).toBe('NOPERM');
  });

  it('fails the step when the server has an ACL file and saving it fails', async () => {
    const failing = session((args) => {
      if (args[0] === 'CONFIG') return ['aclfile', '/data/users.acl'];
      throw new Error('ERR There was an error trying to save the ACLs');
    });
    await expect(persistAcl(failing, logger().logger)).rejects.toThrow(RedisCommandError);
  });
});
