import { describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '../../shared/errors.js';
import type {
  ConnectOptions,
  DatabaseSession,
  LoginTarget,
} from '../../shared/strategies/database/driver.js';
import {
  MAX_LIFETIME_MS,
  SessionKeeper,
  type SessionSource,
} from '../../shared/strategies/database/keptSessions.js';
import { adminSessionKeepMsFromEnv } from '../../shared/strategies/database/mode.js';
import { randomPassword } from '../helpers/credentials.js';

/** A server of sessions that records what happens to them. */
class FakeSource implements SessionSource {
  opened = 0;
  closed = 0;
  /** Sessions the "network" dropped: their statements fail. */
  readonly dead = new Set<DatabaseSession>();
  /** Sessions whose statements never answer (a connection dropped silently). */
  readonly hung = new Set<DatabaseSession>();
  readonly signals: AbortSignal[] = [];
  readonly refs: string[] = [];
  /** Every statement that reached a session. */
  readonly statements: string[] = [];
  /** Every session opened, in order. */
  readonly sessions: DatabaseSession[] = [];

  connect = async (_target: LoginTarget, options: ConnectOptions): Promise<DatabaseSession> => {
    this.opened += 1;
    this.signals.push(options.signal);
    const session: DatabaseSession = {
      query: async <Row>(sql: string) => {
        if (options.signal.aborted) throw new Error('aborted');
        if (this.dead.has(session)) throw new Error('Connection terminated');
        if (this.hung.has(session)) {
          await new Promise((_resolve, reject) =>
            options.signal.addEventListener('abort', () => reject(new Error('aborted'))),
          );
        }
        this.statements.push(sql);
        if (sql === 'fail') throw Object.assign(new Error('syntax error'), { code: '42601' });
        return [] as Row[];
      },
      close: async () => {
        this.closed += 1;
      },
      unref: () => this.refs.push('unref'),
      ref: () => this.refs.push('ref'),
    };
    this.sessions.push(session);
    return session;
  };

  probe = async (session: DatabaseSession): Promise<void> => {
    await session.query('SELECT 1');
  };
}

/** The admin password of every fake login, random per run: tests hold no credentials. */
const ADMIN_PASSWORD = randomPassword();

function target(password = ADMIN_PASSWORD): LoginTarget {
  return {
    host: 'db.example',
    port: 5432,
    username: 'admin',
    password,
    dbname: 'postgres',
    tls: { mode: 'verify-full' },
  };
}

function options(extra: Partial<ConnectOptions> = {}): ConnectOptions {
  return { signal: new AbortController().signal, connectTimeoutMs: 1_000, ...extra };
}

const KEEP_MS = 60_000;

/** Opens a session for `target()` and ends its step clean, so the keeper keeps it. */
async function keepOne(keeper: SessionKeeper, source: FakeSource, ms = KEEP_MS): Promise<void> {
  const session = await keeper.open(source, target(), options(), ms);
  session.keep();
  await session.close();
}

describe('SessionKeeper', () => {
  it('lends a session kept clean by one step to the next with the same login', async () => {
    const source = new FakeSource();
    const keeper = new SessionKeeper();
    const first = await keeper.open(source, target(), options(), KEEP_MS);
    expect(first.reused).toBe(false);
    await first.query('ALTER ROLE x');
    first.keep();
    await first.close();
    expect(keeper.idleCount).toBe(1);
    expect(source.refs).toEqual(['unref']);
    const second = await keeper.open(source, target(), options(), KEEP_MS);
    expect(second.reused).toBe(true);
    expect(source.opened).toBe(1);
    expect(source.refs).toEqual(['unref', 'ref']);
    await second.close();
    expect(source.closed).toBe(1);
    expect(keeper.idleCount).toBe(0);
  });

  it('refuses a statement sent through a lease already closed: it never reaches the next step', async () => {
    const source = new FakeSource();
    const keeper = new SessionKeeper();
    const stepA = await keeper.open(source, target(), options(), KEEP_MS);
    stepA.keep();
    await stepA.close();
    const stepB = await keeper.open(source, target(), options(), KEEP_MS);
    expect(stepB.reused).toBe(true);
    const reached = source.statements.length;
    await expect(stepA.query('ALTER ROLE a_clone NOLOGIN')).rejects.toThrow(
      /returned to the keeper/,
    );
    expect(source.statements.length).toBe(reached);
    await stepB.close();
  });

  it('closes a session the step did not say it left clean, or on which a statement failed', async () => {
    const source = new FakeSource();
    const keeper = new SessionKeeper();
    const notKept = await keeper.open(source, target(), options(), KEEP_MS);
    await notKept.query('BEGIN');
    await notKept.close();
    const failed = await keeper.open(source, target(), options(), KEEP_MS);
    await expect(failed.query('fail')).rejects.toThrow('syntax error');
    failed.keep();
    await failed.close();
    expect(keeper.idleCount).toBe(0);
    expect(source.closed).toBe(2);
  });

  it('never lends a session to another login: password, user, host or TLS differ', async () => {
    const source = new FakeSource();
    const keeper = new SessionKeeper();
    await keepOne(keeper, source);
    const others: LoginTarget[] = [
      target(randomPassword()),
      { ...target(), username: 'admin2' },
      { ...target(), host: 'other.example' },
      { ...target(), tls: { mode: 'require' } },
      { ...target(), dbname: 'other' },
    ];
    for (const other of others) {
      const session = await keeper.open(source, other, options(), KEEP_MS);
      expect(session.reused).toBe(false);
      await session.close();
    }
    // Nor to another connector (another dialect or process) with the same login.
    const elsewhere = new FakeSource();
    expect((await keeper.open(elsewhere, target(), options(), KEEP_MS)).reused).toBe(false);
    expect(keeper.idleCount).toBe(1);
    await keeper.closeAll();
  });

  it('opens a new session when the kept one no longer answers (dropped while frozen)', async () => {
    const source = new FakeSource();
    const keeper = new SessionKeeper();
    await keepOne(keeper, source);
    // The server closed it meanwhile: the probe fails, a new login takes its place.
    source.dead.add(source.sessions[0] as DatabaseSession);
    const second = await keeper.open(source, target(), options(), KEEP_MS);
    expect(second.reused).toBe(false);
    expect(source.opened).toBe(2);
    expect(source.closed).toBe(1);
  });

  it('bounds the probe of a kept session by the connect timeout (a silent drop)', async () => {
    const source = new FakeSource();
    const keeper = new SessionKeeper();
    await keepOne(keeper, source);
    source.hung.add(source.sessions[0] as DatabaseSession);
    const started = performance.now();
    const second = await keeper.open(source, target(), options({ connectTimeoutMs: 100 }), KEEP_MS);
    expect(second.reused).toBe(false);
    expect(performance.now() - started).toBeLessThan(900);
    expect(source.closed).toBe(1);
  });

  it('hands a kept session over only once the gate opens, and closes it when the gate fails', async () => {
    const source = new FakeSource();
    const keeper = new SessionKeeper();
    await keepOne(keeper, source);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    let handed = false;
    const lent = keeper.open(source, target(), options({ authorize: gate }), KEEP_MS).then((s) => {
      handed = true;
      return s;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(handed).toBe(false);
    open();
    const second = await lent;
    expect(second.reused).toBe(true);
    second.keep();
    await second.close();

    const refused = new Error('current login refused');
    await expect(
      keeper.open(source, target(), options({ authorize: Promise.reject(refused) }), KEEP_MS),
    ).rejects.toBe(refused);
    expect(keeper.idleCount).toBe(0);
    expect(source.closed).toBe(1);
  });

  it("lets the caller's first read prove a kept session alive in place of the probe", async () => {
    const source = new FakeSource();
    const keeper = new SessionKeeper();
    await keepOne(keeper, source);
    const read = (session: DatabaseSession) => session.query('SELECT accounts');
    const second = await keeper.open(source, target(), options(), KEEP_MS, read);
    expect(second.reused).toBe(true);
    // One round trip: the read, no SELECT 1 before it.
    expect(source.statements).toEqual(['SELECT accounts']);
    second.keep();
    await second.close();
    // A read that fails means a session that no longer works: a new login replaces it.
    source.dead.add(source.sessions[0] as DatabaseSession);
    const third = await keeper.open(source, target(), options(), KEEP_MS, read);
    expect(third.reused).toBe(false);
    expect(source.opened).toBe(2);
    expect(source.closed).toBe(1);
    await third.close();
  });

  it('ends a first read still running as soon as the gate fails', async () => {
    const source = new FakeSource();
    const keeper = new SessionKeeper();
    await keepOne(keeper, source);
    source.hung.add(source.sessions[0] as DatabaseSession);
    const refused = new Error('current login refused');
    const gate = new Promise<void>((_resolve, reject) => setTimeout(() => reject(refused), 20));
    const started = performance.now();
    await expect(
      keeper.open(
        source,
        target(),
        options({ authorize: gate, connectTimeoutMs: 5_000 }),
        KEEP_MS,
        (session) => session.query('SELECT accounts'),
      ),
    ).rejects.toBe(refused);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(keeper.idleCount).toBe(0);
    expect(source.closed).toBe(1);
  });

  it('forwards a step abort to the session only while that step holds it', async () => {
    const source = new FakeSource();
    const keeper = new SessionKeeper();
    const step1 = new AbortController();
    const first = await keeper.open(source, target(), options({ signal: step1.signal }), KEEP_MS);
    first.keep();
    await first.close();
    // The first step's signal fires later (middy aborts at its early timeout): the kept
    // session must not die with it.
    step1.abort();
    expect(source.signals[0]?.aborted).toBe(false);
    const step2 = new AbortController();
    const second = await keeper.open(source, target(), options({ signal: step2.signal }), KEEP_MS);
    expect(second.reused).toBe(true);
    step2.abort();
    expect(source.signals[0]?.aborted).toBe(true);
    second.keep();
    await second.close();
    expect(keeper.idleCount).toBe(0);
  });

  it('does not reuse a session idle for longer than the keep time, and keeps nothing at 0', async () => {
    const source = new FakeSource();
    let now = 0;
    const keeper = new SessionKeeper(() => now);
    await keepOne(keeper, source, 1_000);
    now = 1_001;
    const second = await keeper.open(source, target(), options(), 1_000);
    expect(second.reused).toBe(false);
    expect(source.closed).toBe(1);
    second.keep();
    await second.close();
    const third = await keeper.open(source, target(), options(), 0);
    expect(third.reused).toBe(false);
    third.keep();
    await third.close();
    expect(keeper.idleCount).toBe(1);
    await keeper.closeAll();
    expect(source.closed).toBe(source.opened);
  });

  it('counts a keep time in wall-clock time: a frozen Lambda whose monotonic clock stood still', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
      let monotonic = 1_000;
      vi.spyOn(performance, 'now').mockImplementation(() => monotonic);
      const source = new FakeSource();
      const keeper = new SessionKeeper();
      await keepOne(keeper, source);
      // Frozen for an hour, of which the monotonic clock saw 5 ms.
      monotonic += 5;
      vi.setSystemTime(new Date('2026-01-01T01:00:00Z'));
      const second = await keeper.open(source, target(), options(), KEEP_MS);
      expect(second.reused).toBe(false);
      expect(source.closed).toBe(1);
      await second.close();
    } finally {
      vi.restoreAllMocks();
      vi.useRealTimers();
    }
  });

  it('never reuses a session past its maximum lifetime, however often it was reused', async () => {
    const source = new FakeSource();
    let now = 0;
    const keeper = new SessionKeeper(() => now);
    await keepOne(keeper, source);
    // Reused every 50 s: each idle time is short, but the session grows old.
    for (now = 50_000; now <= MAX_LIFETIME_MS; now += 50_000) {
      const session = await keeper.open(source, target(), options(), KEEP_MS);
      expect(session.reused).toBe(true);
      session.keep();
      await session.close();
    }
    const old = await keeper.open(source, target(), options(), KEEP_MS);
    expect(old.reused).toBe(false);
    expect(source.opened).toBe(2);
    await old.close();
  });

  it('does not let a wall clock stepped back (NTP) stretch a session past its lifetime', async () => {
    const source = new FakeSource();
    let now = 3_600_000;
    const keeper = new SessionKeeper(() => now);
    await keepOne(keeper, source);
    // The clock jumps back an hour: age and idle time would read negative for an hour.
    now = 0;
    const reusedAt: number[] = [];
    for (; now <= 2 * MAX_LIFETIME_MS; now += 50_000) {
      const session = await keeper.open(source, target(), options(), KEEP_MS);
      if (session.reused && source.opened === 1) reusedAt.push(now);
      session.keep();
      await session.close();
    }
    expect(source.opened).toBeGreaterThan(1);
    expect(reusedAt).toEqual([]);
  });

  it('keeps at most four idle sessions, closing the oldest', async () => {
    const source = new FakeSource();
    const keeper = new SessionKeeper();
    const passwords = Array.from({ length: 6 }, () => randomPassword());
    for (const password of passwords) {
      const session = await keeper.open(source, target(password), options(), KEEP_MS);
      session.keep();
      await session.close();
    }
    expect(keeper.idleCount).toBe(4);
    expect(source.closed).toBe(2);
    expect((await keeper.open(source, target(passwords[0]), options(), KEEP_MS)).reused).toBe(
      false,
    );
    expect((await keeper.open(source, target(passwords[5]), options(), KEEP_MS)).reused).toBe(true);
    await keeper.closeAll();
  });
});

describe('ADMIN_SESSION_KEEP_SECONDS', () => {
  it('defaults to 60 s, takes 0 to 900, and names itself when wrong', () => {
    expect(adminSessionKeepMsFromEnv({})).toBe(60_000);
    expect(adminSessionKeepMsFromEnv({ ADMIN_SESSION_KEEP_SECONDS: '0' })).toBe(0);
    expect(adminSessionKeepMsFromEnv({ ADMIN_SESSION_KEEP_SECONDS: ' 900 ' })).toBe(900_000);
    for (const bad of ['901', '-1', '1.5', 'sixty']) {
      const error = (() => {
        try {
          adminSessionKeepMsFromEnv({ ADMIN_SESSION_KEEP_SECONDS: bad });
        } catch (caught) {
          return caught;
        }
      })();
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).message).toContain('ADMIN_SESSION_KEEP_SECONDS');
    }
  });
});
