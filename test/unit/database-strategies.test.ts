import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import type { GenerateRequest, PendingRequest } from '../../shared/engine/types.js';
import {
  ConfigurationError,
  CredentialRejectedError,
  SecretFormatError,
} from '../../shared/errors.js';
import { connectTimeoutFromEnv } from '../../shared/kinds/environment.js';
import { rotationModeFromEnv } from '../../shared/kinds/rotationMode.js';
import { AlternatingUsersStrategy } from '../../shared/strategies/database/AlternatingUsersStrategy.js';
import type { AdminSecretSource } from '../../shared/strategies/database/adminSecrets.js';
import type {
  DatabaseDialect,
  DialectSet,
  PasswordChange,
  Privilege,
  RepairFailure,
  StagedPassword,
  UserPair,
} from '../../shared/strategies/database/dialect.js';
import {
  type Connector,
  type DatabaseSession,
  type LoginTarget,
  runQuery,
} from '../../shared/strategies/database/driver.js';
import {
  DatabaseConnectionError,
  DatabaseQueryError,
  GrantParityError,
  LoginRefusedError,
} from '../../shared/strategies/database/errors.js';
import { SessionKeeper } from '../../shared/strategies/database/keptSessions.js';
import { databaseStrategyFromEnv } from '../../shared/strategies/database/mode.js';
import { SingleUserStrategy } from '../../shared/strategies/database/SingleUserStrategy.js';
import {
  mysqlDialects,
  mysqlUsernameLimitFromEnv,
} from '../../shared/strategies/mysql/MysqlDialect.js';
import { postgresDialects } from '../../shared/strategies/postgres/PostgresDialect.js';
import { randomPassword } from '../helpers/credentials.js';
import { describeStrategyConformance } from '../helpers/strategyConformance.js';

/** An in-memory database server: users, passwords, privileges, TLS on or off. */
class FakeServer {
  readonly passwords = new Map<string, string>();
  readonly privileges = new Map<string, Set<string>>();
  tls = true;
  /** Privilege keys the admin is not allowed to grant. */
  readonly ungrantable = new Set<string>();
  adminPassword = randomPassword();
  /** Users whose password is right but who may not use the database (MySQL 1044). */
  readonly withoutDatabase = new Set<string>();
  readonly logins: { username: string; ok: boolean; mode: string }[] = [];
  opened = 0;
  closed = 0;
  readonly statements: string[] = [];

  connect: Connector = async (target: LoginTarget, options) => {
    // The credentials reach the server only once the gate opens (the Connector contract).
    if (options.authorize) await options.authorize;
    if (target.tls.mode !== 'disable' && !this.tls) {
      throw new DatabaseConnectionError('The server does not support TLS connections', 'NO_TLS');
    }
    const ok =
      (target.username === 'admin' && target.password === this.adminPassword) ||
      (this.passwords.has(target.username) &&
        this.passwords.get(target.username) === target.password);
    this.logins.push({ username: target.username, ok, mode: target.tls.mode });
    if (!ok) throw new LoginRefusedError(`login refused for "${target.username}"`, '28P01');
    if (this.withoutDatabase.has(target.username)) {
      throw new DatabaseConnectionError('Access denied to database', '1044');
    }
    this.opened += 1;
    return {
      query: async <Row>(sql: string) => {
        this.statements.push(sql);
        return [] as Row[];
      },
      close: async () => {
        this.closed += 1;
      },
    };
  };
}

class FakeDialect implements DatabaseDialect {
  readonly label = 'FakeDB';
  readonly secretDefaults = { defaultPort: 9999, defaultDbname: 'fake' };
  readonly usernameLimit = { max: 20, unit: 'characters' as const };
  readonly connect: Connector;
  constructor(readonly server: FakeServer) {
    this.connect = server.connect;
  }
  async probe(): Promise<void> {}
  async changeOwnPassword(_session: unknown, change: PasswordChange): Promise<void> {
    change.register(`hash-of-${change.password}`);
    this.server.passwords.set(change.username, change.password);
  }
  async ensureUser(_admin: unknown, template: string, change: PasswordChange): Promise<boolean> {
    if (this.server.passwords.has(change.username)) return false;
    this.server.passwords.set(change.username, change.password);
    this.server.privileges.set(change.username, new Set(this.server.privileges.get(template)));
    return true;
  }
  async setUserPassword(_admin: unknown, change: PasswordChange): Promise<void> {
    this.server.passwords.set(change.username, change.password);
  }
  async privileges(_admin: unknown, usernames: readonly string[]): Promise<Privilege[][]> {
    return usernames.map((username) =>
      [...(this.server.privileges.get(username) ?? [])].map((key) => ({ key })),
    );
  }
  async repair(
    _admin: unknown,
    missing: readonly Privilege[],
    pair: UserPair,
  ): Promise<RepairFailure[]> {
    const failures: RepairFailure[] = [];
    for (const { key } of missing) {
      if (this.server.ungrantable.has(key))
        failures.push({ key, error: new Error('permission denied') });
      else this.server.privileges.get(pair.pending)?.add(key);
    }
    return failures;
  }
}

const silent = new Logger({ logLevel: 'SILENT' });

function dialects(
  server: FakeServer,
  dialect: DatabaseDialect = new FakeDialect(server),
): DialectSet {
  return {
    name: 'fake',
    defaultEngine: 'fake',
    byEngine: { fake: dialect, 'fake-aurora': dialect },
  };
}

function value(fields: Record<string, unknown>): string {
  return JSON.stringify({ engine: 'fake', host: 'db', ssl: false, ...fields });
}

interface Values {
  current: string;
  pending?: string;
  previous?: string;
}

function request(values: Values): PendingRequest & GenerateRequest & { registered: string[] } {
  const registered: string[] = [];
  return {
    secretId: 'arn:secret',
    token: 'token-1',
    step: 'setSecret',
    logger: silent,
    signal: new AbortController().signal,
    current: async () => values.current,
    previous: async () => values.previous,
    pending: async () => values.pending ?? values.current,
    generatePassword: async () => randomPassword(),
    registerSecret: (v: string) => {
      registered.push(v);
    },
    registered,
  };
}

describe('SingleUserStrategy', () => {
  function setup() {
    const server = new FakeServer();
    const oldPassword = randomPassword();
    server.passwords.set('app', oldPassword);
    const current = value({ username: 'app', password: oldPassword, custom: 'kept' });
    return { server, current, oldPassword, strategy: new SingleUserStrategy(dialects(server)) };
  }

  it('generatePending keeps the user and every field, with a new password', async () => {
    const { strategy, current } = setup();
    const next = JSON.parse(await strategy.generatePending(request({ current }))) as Record<
      string,
      unknown
    >;
    expect(next).toMatchObject({ username: 'app', custom: 'kept', engine: 'fake' });
    expect(next.password).not.toBe(JSON.parse(current).password);
  });

  it('apply tries pending first and changes nothing when it already works', async () => {
    const { server, strategy, current } = setup();
    const pendingPassword = randomPassword();
    server.passwords.set('app', pendingPassword);
    await strategy.apply(
      request({ current, pending: value({ username: 'app', password: pendingPassword }) }),
    );
    expect(server.logins.map((l) => l.ok)).toEqual([true]);
    expect(server.opened).toBe(server.closed);
  });

  it('apply logs in with current and sets the pending password, registering what it derives', async () => {
    const { server, strategy, current } = setup();
    const pendingPassword = randomPassword();
    const req = request({
      current,
      pending: value({ username: 'app', password: pendingPassword }),
    });
    await strategy.apply(req);
    expect(server.passwords.get('app')).toBe(pendingPassword);
    expect(server.logins.map((l) => l.ok)).toEqual([false, true]);
    expect(req.registered).toContain(`hash-of-${pendingPassword}`);
    expect(server.opened).toBe(server.closed);
  });

  it('falls back to previous (with the current TLS settings) when current no longer works', async () => {
    const { server, strategy, current } = setup();
    const previousPassword = randomPassword();
    server.passwords.set('app', previousPassword);
    const pendingPassword = randomPassword();
    await strategy.apply(
      request({
        current,
        pending: value({ username: 'app', password: pendingPassword }),
        previous: value({
          username: 'app',
          password: previousPassword,
          sslMode: 'require',
          ssl: undefined,
        }),
      }),
    );
    expect(server.passwords.get('app')).toBe(pendingPassword);
    expect(server.logins.at(-1)).toEqual({ username: 'app', ok: true, mode: 'disable' });
  });

  it('fails with CredentialRejectedError when no value logs in', async () => {
    const { server, strategy, current } = setup();
    server.passwords.set('app', randomPassword());
    const error = await strategy
      .apply(
        request({
          current,
          pending: value({ username: 'app', password: randomPassword() }),
          previous: value({ username: 'app', password: randomPassword() }),
        }),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialRejectedError);
    expect(server.logins).toHaveLength(3);
  });

  it('refuses to change another user or host', async () => {
    const { strategy, current } = setup();
    await expect(
      strategy.apply(
        request({ current, pending: value({ username: 'other', password: randomPassword() }) }),
      ),
    ).rejects.toThrow(SecretFormatError);
    await expect(
      strategy.apply(
        request({
          current,
          pending: value({ username: 'app', host: 'elsewhere', password: randomPassword() }),
        }),
      ),
    ).rejects.toThrow(/host/);
  });

  it('a TLS failure stops the step at once: no other credentials, no plaintext retry', async () => {
    const { server, strategy, oldPassword } = setup();
    server.tls = false;
    const current = value({ username: 'app', password: oldPassword, ssl: undefined });
    const error = await strategy
      .apply(
        request({
          current,
          pending: value({ username: 'app', password: randomPassword(), ssl: undefined }),
        }),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseConnectionError);
    expect((error as Error).message).toMatch(/TLS/);
    expect(server.logins).toHaveLength(0);
  });

  it('verify refuses a pending value that does not log in', async () => {
    const { strategy, current } = setup();
    await expect(
      strategy.verify(
        request({ current, pending: value({ username: 'app', password: randomPassword() }) }),
      ),
    ).rejects.toThrow(CredentialRejectedError);
    await expect(strategy.verify(request({ current }))).resolves.toBeUndefined();
  });

  it('rejects an engine the function does not serve, naming the field', async () => {
    const { strategy, current } = setup();
    const error = await strategy
      .verify(
        request({
          current,
          pending: value({ engine: 'oracle', username: 'app', password: randomPassword() }),
        }),
      )
      .catch((e: unknown) => e);
    expect((error as SecretFormatError).field).toBe('engine');
  });
});

describe('AlternatingUsersStrategy', () => {
  function setup() {
    const server = new FakeServer();
    const password = randomPassword();
    server.passwords.set('app', password);
    server.privileges.set('app', new Set(['SELECT ON t', 'INSERT ON t']));
    const fetches: boolean[] = [];
    const admins: AdminSecretSource = {
      current: async (_arn: string, { forceFetch = false } = {}) => {
        fetches.push(forceFetch);
        return JSON.stringify({ username: 'admin', password: server.adminPassword });
      },
    };
    const keeper = new SessionKeeper();
    const strategy = new AlternatingUsersStrategy(dialects(server), { admins, keeper });
    const current = value({ username: 'app', password, masterarn: 'arn:admin' });
    return { server, strategy, current, fetches, keeper };
  }

  it('generatePending toggles the _clone suffix and enforces the limit', async () => {
    const { strategy, current } = setup();
    expect(JSON.parse(await strategy.generatePending(request({ current }))).username).toBe(
      'app_clone',
    );
    const clone = value({
      username: 'app_clone',
      password: randomPassword(),
      masterarn: 'arn:admin',
    });
    expect(JSON.parse(await strategy.generatePending(request({ current: clone }))).username).toBe(
      'app',
    );
    const long = value({
      username: 'a'.repeat(15),
      password: randomPassword(),
      masterarn: 'arn:admin',
    });
    await expect(strategy.generatePending(request({ current: long }))).rejects.toThrow(
      /20 characters/,
    );
  });

  it('creates the clone with the same privileges and registers the admin password', async () => {
    const { server, strategy, current, keeper } = setup();
    const pendingPassword = randomPassword();
    const req = request({
      current,
      pending: value({ username: 'app_clone', password: pendingPassword, masterarn: 'arn:admin' }),
    });
    await strategy.apply(req);
    expect(server.passwords.get('app_clone')).toBe(pendingPassword);
    expect(server.privileges.get('app_clone')).toEqual(server.privileges.get('app'));
    expect(req.registered).toContain(server.adminPassword);
    // The admin's session, kept for the next setSecret; every other one is closed.
    expect(keeper.idleCount).toBe(1);
    await keeper.closeAll();
    expect(server.opened).toBe(server.closed);
  });

  it('logs in only as current, then as admin: no refused login with the pending value', async () => {
    const { server, strategy, current } = setup();
    // The clone exists with an older password, as on every rotation after the first.
    server.passwords.set('app_clone', randomPassword());
    server.privileges.set('app_clone', new Set(server.privileges.get('app')));
    const pendingPassword = randomPassword();
    await strategy.apply(
      request({
        current,
        pending: value({
          username: 'app_clone',
          password: pendingPassword,
          masterarn: 'arn:admin',
        }),
      }),
    );
    expect(server.logins).toEqual([
      { username: 'app', ok: true, mode: 'disable' },
      { username: 'admin', ok: true, mode: 'disable' },
    ]);
    expect(server.passwords.get('app_clone')).toBe(pendingPassword);
  });

  it('acts as admin only once current logs in (confused deputy): no admin login reaches the server, nothing runs', async () => {
    const { server, strategy, current, fetches } = setup();
    server.passwords.set('app', randomPassword());
    const error = await strategy
      .apply(
        request({
          current,
          pending: value({
            username: 'app_clone',
            password: randomPassword(),
            masterarn: 'arn:admin',
          }),
        }),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialRejectedError);
    expect((error as Error).message).toMatch(/AWSCURRENT value of user "app"/);
    // The admin secret may be read beside the current login; its credentials are never sent.
    expect(fetches.length).toBeLessThanOrEqual(1);
    expect(server.logins.map((l) => l.username)).toEqual(['app']);
    expect(server.statements).toEqual([]);
    expect(server.passwords.has('app_clone')).toBe(false);
    expect(server.opened).toBe(server.closed);
  });

  it('re-reads the admin secret once with forceFetch when the cached password is refused', async () => {
    const { server, current } = setup();
    const stale = JSON.stringify({ username: 'admin', password: randomPassword() });
    const fresh = JSON.stringify({ username: 'admin', password: server.adminPassword });
    const fetches: boolean[] = [];
    // A cache that still holds the admin password from before the admin secret was rotated.
    const strategy = new AlternatingUsersStrategy(dialects(server), {
      admins: {
        current: async (_arn: string, { forceFetch = false } = {}) => {
          fetches.push(forceFetch);
          return forceFetch ? fresh : stale;
        },
      },
    });
    const pending = value({
      username: 'app_clone',
      password: randomPassword(),
      masterarn: 'arn:admin',
    });
    await strategy.apply(request({ current, pending }));
    expect(fetches).toEqual([false, true]);
    expect(server.passwords.has('app_clone')).toBe(true);
  });

  it('gives up with CredentialRejectedError when the fresh admin password is refused too', async () => {
    const { server, current } = setup();
    const stale = JSON.stringify({ username: 'admin', password: randomPassword() });
    const strategy = new AlternatingUsersStrategy(dialects(server), {
      admins: { current: async () => stale },
    });
    const pending = value({
      username: 'app_clone',
      password: randomPassword(),
      masterarn: 'arn:admin',
    });
    const error = await strategy.apply(request({ current, pending })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialRejectedError);
    expect((error as Error).message).toMatch(/admin secret/);
    expect(server.logins.filter((l) => l.username === 'admin')).toHaveLength(2);
  });

  it('repairs missing privileges of an existing pending user, and keeps its password when it already works', async () => {
    const { server, strategy, current } = setup();
    const clonePassword = randomPassword();
    server.passwords.set('app_clone', clonePassword);
    server.privileges.set('app_clone', new Set(['SELECT ON t', 'EXTRA ON x']));
    await strategy.apply(
      request({
        current,
        pending: value({ username: 'app_clone', password: clonePassword, masterarn: 'arn:admin' }),
      }),
    );
    expect([...(server.privileges.get('app_clone') ?? [])].sort()).toEqual([
      'EXTRA ON x',
      'INSERT ON t',
      'SELECT ON t',
    ]);
    expect(server.passwords.get('app_clone')).toBe(clonePassword);
  });

  it('completes a clone an interrupted attempt left without access to its database (the pending login fails, not refused)', async () => {
    const { server, strategy, current, keeper } = setup();
    // Created with its password, then the crash came before its grants (crash matrix).
    const clonePassword = randomPassword();
    server.passwords.set('app_clone', clonePassword);
    server.privileges.set('app_clone', new Set());
    server.withoutDatabase.add('app_clone');
    await strategy.apply(
      request({
        current,
        pending: value({ username: 'app_clone', password: clonePassword, masterarn: 'arn:admin' }),
      }),
    );
    expect(server.privileges.get('app_clone')).toEqual(server.privileges.get('app'));
    await keeper.closeAll();
    expect(server.opened).toBe(server.closed);
  });

  it('fails with GrantParityError listing exactly what differs, before setting the password', async () => {
    const { server, strategy, current } = setup();
    const oldClonePassword = randomPassword();
    server.passwords.set('app_clone', oldClonePassword);
    server.privileges.set('app_clone', new Set(['SELECT ON t']));
    server.ungrantable.add('INSERT ON t');
    const error = await strategy
      .apply(
        request({
          current,
          pending: value({
            username: 'app_clone',
            password: randomPassword(),
            masterarn: 'arn:admin',
          }),
        }),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GrantParityError);
    expect((error as GrantParityError).missing).toEqual(['INSERT ON t']);
    expect(server.passwords.get('app_clone')).toBe(oldClonePassword);
    expect(server.opened).toBe(server.closed);
  });

  it('refuses a pending user that is not the alternate of the current one', async () => {
    const { strategy, current } = setup();
    const error = await strategy
      .apply(
        request({
          current,
          pending: value({
            username: 'intruder',
            password: randomPassword(),
            masterarn: 'arn:admin',
          }),
        }),
      )
      .catch((e: unknown) => e);
    expect((error as SecretFormatError).field).toBe('username');
  });
});

/**
 * A dialect whose password changes are transactional: a staged change reaches
 * `server.passwords` only on commit, as PostgreSQL's open transaction does.
 */
class StagingDialect extends FakeDialect {
  readonly events: string[] = [];
  override async setUserPassword(admin: unknown, change: PasswordChange): Promise<void> {
    this.events.push('setUserPassword');
    await super.setUserPassword(admin, change);
  }
  stagePassword(admin: Promise<DatabaseSession>, change: PasswordChange): StagedPassword {
    this.events.push('stage');
    const ready = admin.then(
      () => {
        this.events.push('staged');
        return this.server.passwords.has(change.username);
      },
      () => false,
    );
    return {
      ready,
      commit: async () => {
        this.events.push('commit');
        this.server.passwords.set(change.username, change.password);
      },
      rollback: async () => {
        this.events.push('rollback');
      },
    };
  }
}

describe('AlternatingUsersStrategy with a staged password change', () => {
  function setup() {
    const server = new FakeServer();
    const password = randomPassword();
    server.passwords.set('app', password);
    server.privileges.set('app', new Set(['SELECT ON t', 'INSERT ON t']));
    const dialect = new StagingDialect(server);
    const admins: AdminSecretSource = {
      current: async () => JSON.stringify({ username: 'admin', password: server.adminPassword }),
    };
    const keeper = new SessionKeeper();
    const strategy = new AlternatingUsersStrategy(dialects(server, dialect), { admins, keeper });
    const current = value({ username: 'app', password, masterarn: 'arn:admin' });
    const pendingPassword = randomPassword();
    const pending = value({
      username: 'app_clone',
      password: pendingPassword,
      masterarn: 'arn:admin',
    });
    return { server, dialect, strategy, current, pending, pendingPassword, keeper };
  }

  it('commits the staged change when parity already holds: no second password statement', async () => {
    const { server, dialect, strategy, current, pending, pendingPassword, keeper } = setup();
    server.passwords.set('app_clone', randomPassword());
    server.privileges.set('app_clone', new Set(['SELECT ON t', 'INSERT ON t']));
    await strategy.apply(request({ current, pending }));
    expect(dialect.events).toEqual(['stage', 'staged', 'commit']);
    expect(server.passwords.get('app_clone')).toBe(pendingPassword);
    expect(keeper.idleCount).toBe(1);
    await keeper.closeAll();
    expect(server.opened).toBe(server.closed);
  });

  it('rolls the change back when privileges need repair, repairs, then sets the password', async () => {
    const { server, dialect, strategy, current, pending, pendingPassword } = setup();
    server.passwords.set('app_clone', randomPassword());
    server.privileges.set('app_clone', new Set(['SELECT ON t']));
    await strategy.apply(request({ current, pending }));
    expect(dialect.events).toEqual(['stage', 'staged', 'rollback', 'setUserPassword']);
    expect(server.privileges.get('app_clone')).toEqual(server.privileges.get('app'));
    expect(server.passwords.get('app_clone')).toBe(pendingPassword);
  });

  it('creates a pending user that does not exist yet (first rotation) after rolling back', async () => {
    const { server, dialect, strategy, current, pending, pendingPassword } = setup();
    await strategy.apply(request({ current, pending }));
    expect(dialect.events).toEqual(['stage', 'staged', 'rollback', 'setUserPassword']);
    expect(server.passwords.get('app_clone')).toBe(pendingPassword);
    expect(server.privileges.get('app_clone')).toEqual(server.privileges.get('app'));
  });

  it('keeps the old password when parity cannot be reached', async () => {
    const { server, dialect, strategy, current, pending } = setup();
    const old = randomPassword();
    server.passwords.set('app_clone', old);
    server.privileges.set('app_clone', new Set(['SELECT ON t']));
    server.ungrantable.add('INSERT ON t');
    const error = await strategy.apply(request({ current, pending })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GrantParityError);
    expect(dialect.events).toEqual(['stage', 'staged', 'rollback']);
    expect(server.passwords.get('app_clone')).toBe(old);
  });

  it('a privilege read that fails (as the PostgreSQL fallback read does in a transaction a refused staged change aborted) leaves the general path to create the user', async () => {
    const { server, dialect, strategy, current, pending, pendingPassword } = setup();
    // The current user may not read the catalogs; the fallback read on the admin's session
    // fails because the staged change (no such role yet) aborted its transaction.
    Object.assign(dialect, {
      beginPrivilegeRead: () => async (admin: Promise<DatabaseSession>) => {
        await admin;
        throw new DatabaseQueryError('read privileges', '25P02');
      },
    });
    await strategy.apply(request({ current, pending }));
    expect(dialect.events).toEqual(['stage', 'staged', 'rollback', 'setUserPassword']);
    expect(server.passwords.get('app_clone')).toBe(pendingPassword);
    expect(server.privileges.get('app_clone')).toEqual(server.privileges.get('app'));
  });

  it('stages nothing on the server when the current login is refused (the admin session never opens)', async () => {
    const { server, dialect, strategy, pending } = setup();
    const old = randomPassword();
    server.passwords.set('app_clone', old);
    const wrong = value({ username: 'app', password: randomPassword(), masterarn: 'arn:admin' });
    const error = await strategy
      .apply(request({ current: wrong, pending }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialRejectedError);
    expect(dialect.events).toEqual(['stage']);
    expect(server.logins.map((l) => l.username)).toEqual(['app']);
    expect(server.passwords.get('app_clone')).toBe(old);
  });
});

describe('configuration read at start-up', () => {
  it('ROTATION_MODE is required and validated', () => {
    expect(() => rotationModeFromEnv({})).toThrow(ConfigurationError);
    expect(() => rotationModeFromEnv({ ROTATION_MODE: 'multi-user' })).toThrow(/ROTATION_MODE/);
    expect(rotationModeFromEnv({ ROTATION_MODE: 'Alternating-Users' })).toBe('alternating-users');
  });

  it('builds the strategy the mode names', () => {
    const set = postgresDialects();
    expect(databaseStrategyFromEnv(set, { ROTATION_MODE: 'single-user' }).name).toBe(
      'postgres-single-user',
    );
    const admins: AdminSecretSource = { current: async () => '{}' };
    expect(
      databaseStrategyFromEnv(set, { ROTATION_MODE: 'alternating-users' }, { admins }).name,
    ).toBe('postgres-alternating-users');
    expect(() =>
      databaseStrategyFromEnv(set, { ROTATION_MODE: 'single-user', DEFAULT_SSL_MODE: 'prefer' }),
    ).toThrow(ConfigurationError);
  });

  it('DB_CONNECT_TIMEOUT_MS and USERNAME_CHARACTER_LIMIT are validated', () => {
    expect(connectTimeoutFromEnv({})).toBe(5_000);
    expect(connectTimeoutFromEnv({ DB_CONNECT_TIMEOUT_MS: '2500' })).toBe(2_500);
    expect(() => connectTimeoutFromEnv({ DB_CONNECT_TIMEOUT_MS: '5s' })).toThrow(
      ConfigurationError,
    );
    expect(mysqlUsernameLimitFromEnv({})).toBe(16);
    expect(mysqlUsernameLimitFromEnv({ USERNAME_CHARACTER_LIMIT: '32' })).toBe(32);
    expect(() => mysqlUsernameLimitFromEnv({ USERNAME_CHARACTER_LIMIT: 'many' })).toThrow(
      ConfigurationError,
    );
  });

  it('the MySQL function serves mysql, aurora-mysql and mariadb with AWS limits; PostgreSQL excludes ":"', () => {
    const set = mysqlDialects({ USERNAME_CHARACTER_LIMIT: '20' });
    expect(Object.keys(set.byEngine).sort()).toEqual(['aurora-mysql', 'mariadb', 'mysql']);
    expect(set.byEngine.mysql?.usernameLimit.max).toBe(20);
    expect(set.byEngine.mariadb?.usernameLimit.max).toBe(80);
    expect(postgresDialects().byEngine['aurora-postgresql']?.usernameLimit).toEqual({
      max: 63,
      unit: 'bytes',
    });
    expect(postgresDialects().passwordDefaults?.excludeCharacters).toContain(':');
  });
});

describe('driver errors', () => {
  it('a failed statement names the operation and code, never the SQL (which may hold a hash)', async () => {
    const hash = '*3A70EE9FC6594F88CE9E959CD51C5A1C002DC937';
    const driverError = Object.assign(
      new Error(`You have an error in your SQL syntax near '${hash}'`),
      {
        code: 'ER_PARSE_ERROR',
        sql: `SET PASSWORD = '${hash}'`,
      },
    );
    const session = { query: async () => Promise.reject(driverError), close: async () => {} };
    const error = await runQuery(session, 'set password', 'SET PASSWORD = ?', [hash]).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DatabaseQueryError);
    expect((error as Error).message).toBe('Database set password failed (code ER_PARSE_ERROR)');
    expect((error as Error).cause).toBe(driverError);
  });
});

describe.each([
  ['single-user', (server: FakeServer) => new SingleUserStrategy(dialects(server))],
  [
    'alternating-users',
    (server: FakeServer) =>
      new AlternatingUsersStrategy(dialects(server), {
        admins: {
          current: async () =>
            JSON.stringify({ username: 'admin', password: server.adminPassword }),
        },
      }),
  ],
])('conformance of the %s strategy on a fake dialect', (mode, build) => {
  const server = new FakeServer();
  describeStrategyConformance(`fake database ${mode}`, {
    createStrategy: () => build(server),
    seed: async () => {
      const username = `u${Math.random().toString(36).slice(2, 8)}`;
      const password = randomPassword();
      server.passwords.set(username, password);
      server.privileges.set(username, new Set(['SELECT ON t']));
      return value({ username, password, masterarn: 'arn:admin' });
    },
    works: async (s) => {
      const { username, password } = JSON.parse(s) as { username: string; password: string };
      return server.passwords.get(username) === password;
    },
    corrupt: (s) => JSON.stringify({ ...JSON.parse(s), password: randomPassword() }),
    extraSecrets: () => [server.adminPassword],
  });
});

describe("PostgreSQL privilege read on the current user's session", () => {
  const pair = { current: 'app', pending: 'app_clone', base: 'app', clone: 'app_clone' };
  const row = (username: string) => ({
    username,
    memberships: [],
    objects: [],
    attributes: {},
    owned: [],
    defaults: [],
    settings: [],
  });
  const sessionAnswering = (answer: (sql: string) => unknown[]) => {
    const statements: string[] = [];
    const session = {
      query: async (sql: string) => {
        statements.push(sql);
        return answer(sql);
      },
      close: async () => {},
    } as unknown as DatabaseSession;
    return { session, statements };
  };

  it('reads everything on that session in one round trip and leaves the admin session alone', async () => {
    const { PostgresDialect } = await import('../../shared/strategies/postgres/PostgresDialect.js');
    const dialect = new PostgresDialect();
    const current = sessionAnswering(() => [row('app'), row('app_clone')]);
    const admin = sessionAnswering(() => []);
    const finish = dialect.beginPrivilegeRead(current.session, ['app', 'app_clone'], pair);
    const result = await finish(Promise.resolve(admin.session));
    expect(result).toHaveLength(2);
    expect(current.statements).toHaveLength(1);
    expect(admin.statements).toEqual([]);
  });

  it('a read the current user may not make is made again as admin', async () => {
    const { PostgresDialect } = await import('../../shared/strategies/postgres/PostgresDialect.js');
    const dialect = new PostgresDialect();
    const current = sessionAnswering(() => {
      throw Object.assign(new Error('permission denied for table pg_authid'), { code: '42501' });
    });
    const admin = sessionAnswering((sql) =>
      sql.startsWith('SET search_path') ? [] : [row('app'), row('app_clone')],
    );
    const finish = dialect.beginPrivilegeRead(current.session, ['app', 'app_clone'], pair);
    const result = await finish(Promise.resolve(admin.session));
    expect(result).toHaveLength(2);
    expect(admin.statements.some((sql) => sql.includes(' AS memberships'))).toBe(true);
  });
});

describe('AlternatingUsersStrategy with a kept admin session', () => {
  it('reads privileges as admin while the current login runs, and changes nothing until that login works', async () => {
    const server = new FakeServer();
    const password = randomPassword();
    server.passwords.set('app', password);
    server.privileges.set('app', new Set(['SELECT ON t']));
    const events: string[] = [];
    let hold: Promise<void> | undefined;
    const open = server.connect;
    server.connect = async (target, options) => {
      if (target.username === 'app' && hold) {
        events.push('current login starts');
        await hold;
        events.push('current login ends');
      }
      return open(target, options);
    };
    class Recording extends FakeDialect {
      override async privileges(admin: unknown, usernames: readonly string[]) {
        events.push('read');
        return super.privileges(admin, usernames);
      }
      override async setUserPassword(admin: unknown, change: PasswordChange) {
        events.push('set');
        return super.setUserPassword(admin, change);
      }
    }
    const keeper = new SessionKeeper();
    const strategy = new AlternatingUsersStrategy(dialects(server, new Recording(server)), {
      admins: {
        current: async () => JSON.stringify({ username: 'admin', password: server.adminPassword }),
      },
      keeper,
    });
    const rotate = (currentPassword: string) =>
      strategy.apply(
        request({
          current: value({ username: 'app', password: currentPassword, masterarn: 'arn:admin' }),
          pending: value({
            username: 'app_clone',
            password: randomPassword(),
            masterarn: 'arn:admin',
          }),
        }),
      );
    await rotate(password);
    expect(keeper.idleCount).toBe(1);
    events.length = 0;
    let release!: () => void;
    hold = new Promise((resolve) => {
      release = resolve;
    });
    setTimeout(() => release(), 30);
    await rotate(password);
    // One read, made before the current login ended; the password only after it.
    expect(events).toEqual(['current login starts', 'read', 'current login ends', 'set']);
    expect(keeper.idleCount).toBe(1);

    // A current value that does not log in: the early read may run, nothing is set, and the
    // admin's session is closed rather than kept.
    events.length = 0;
    const clonePassword = server.passwords.get('app_clone');
    await expect(rotate(randomPassword())).rejects.toBeInstanceOf(CredentialRejectedError);
    expect(events).not.toContain('set');
    expect(server.passwords.get('app_clone')).toBe(clonePassword);
    expect(keeper.idleCount).toBe(0);
    expect(server.opened).toBe(server.closed);
  });
});
