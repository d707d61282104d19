import type { ConnectOptions, Connector, DatabaseSession, LoginTarget } from './driver.js';

/** A session lent by {@link SessionKeeper}. */
export interface KeptSession extends DatabaseSession {
  /** True when an earlier step opened this session and kept it. */
  readonly reused: boolean;
  /**
   * Says the step has finished with the session and left it as it found it (no transaction
   * open): `close()` then keeps it for a later step instead of closing it. A session on
   * which any statement failed is closed whatever this says.
   */
  keep(): void;
}

/** What the keeper needs of a dialect: its connector and its harmless probe. */
export interface SessionSource {
  readonly connect: Connector;
  probe(session: DatabaseSession): Promise<void>;
  /** Used instead of `probe` when given: it may also check the login is still allowed. */
  probeKept?(session: DatabaseSession, login: LoginTarget): Promise<void>;
}

interface Entry {
  readonly connect: Connector;
  readonly target: LoginTarget;
  readonly session: DatabaseSession;
  /** The session's own abort: the step's signal is forwarded to it only while lent. */
  readonly control: AbortController;
  /** When it was opened: reuse never extends a session past {@link MAX_LIFETIME_MS}. */
  readonly opened: number;
  since: number;
  timer?: ReturnType<typeof setTimeout>;
}

/** How long a session is kept by default, milliseconds. */
export const DEFAULT_KEEP_MS = 60_000;

/**
 * Longest a session is reused, however often (the longest keep time): an admin password
 * changed or a role revoked in the database alone reaches a busy function within this.
 */
export const MAX_LIFETIME_MS = 900_000;

/** Most idle sessions one process keeps; the oldest is closed to make room. */
const MAX_IDLE = 4;

function sameTarget(a: LoginTarget, b: LoginTarget): boolean {
  return (
    a.host === b.host &&
    a.port === b.port &&
    a.username === b.username &&
    a.password === b.password &&
    a.dbname === b.dbname &&
    JSON.stringify(a.tls) === JSON.stringify(b.tls)
  );
}

/**
 * Keeps a step's session open for the next step of a warm process, so an admin that serves
 * many secrets logs in once, not once per rotation. A session is kept only when the step
 * says it left it clean ({@link KeptSession.keep}) and no statement on it failed; it is
 * reused only by the same connector for the same login (password and TLS included), within
 * `idleMs`, and only after a probe shows it still works (a session the server or a network
 * dropped while the process was frozen is closed, and a new one opened). A reused session
 * honours `authorize` as a new login would: it is handed over only once the gate opens.
 */
export class SessionKeeper {
  readonly #idle: Entry[] = [];
  readonly #now: () => number;

  /**
   * `now` is wall-clock time: a frozen Lambda's monotonic clock may stand still while the
   * wall clock goes on, and a keep time must count the frozen time too.
   */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** How many sessions are kept idle now. */
  get idleCount(): number {
    return this.#idle.length;
  }

  /**
   * A session for `target`: a kept one that passes the probe, else a new one from
   * `source.connect`. With `idleMs` 0 nothing is reused or kept. `firstRead`, when given,
   * proves a kept session alive in place of `source.probe` (one round trip fewer): it runs
   * on the session this call returns, before `options.authorize` opens, so it may overlap
   * the wait and must only read; when it fails, a new session replaces the kept one, and
   * when the gate fails it is ended at once.
   */
  async open(
    source: SessionSource,
    target: LoginTarget,
    options: ConnectOptions,
    idleMs: number,
    firstRead?: (session: KeptSession) => Promise<unknown>,
  ): Promise<KeptSession> {
    const idle = idleMs > 0 ? this.#take(source.connect, target, idleMs) : undefined;
    if (idle) {
      const lease = this.#lend(idle, options.signal, idleMs, true);
      // Bounded as a connect is: a socket a network dropped silently would otherwise hang.
      const timer = setTimeout(() => idle.control.abort(), options.connectTimeoutMs);
      const gate = Promise.resolve(options.authorize).then(
        () => undefined,
        (error: unknown) => {
          // Nothing more is read for a login that failed, nor waited for.
          idle.control.abort();
          return { error };
        },
      );
      const probe = firstRead
        ? firstRead(lease)
        : source.probeKept
          ? source.probeKept(idle.session, target)
          : source.probe(idle.session);
      const alive = await probe.then(
        () => true,
        () => false,
      );
      clearTimeout(timer);
      const refused = await gate;
      if (refused) {
        await lease.close();
        throw refused.error;
      }
      if (alive) return lease;
      await lease.close();
    }
    const control = new AbortController();
    const stop = forwardAbort(options.signal, control);
    let session: DatabaseSession;
    try {
      session = await source.connect(target, { ...options, signal: control.signal });
    } finally {
      stop();
    }
    return this.#lend(
      { connect: source.connect, target, session, control, opened: this.#now(), since: 0 },
      options.signal,
      idleMs,
      false,
    );
  }

  /** Closes every idle session (tests; a process about to exit). */
  async closeAll(): Promise<void> {
    const all = this.#idle.splice(0);
    await Promise.all(all.map((entry) => this.#discard(entry)));
  }

  #take(connect: Connector, target: LoginTarget, idleMs: number): Entry | undefined {
    const index = this.#idle.findIndex(
      (entry) => entry.connect === connect && sameTarget(entry.target, target),
    );
    const entry = index === -1 ? undefined : this.#idle.splice(index, 1)[0];
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    const now = this.#now();
    if (
      // A wall clock stepped back (NTP) would make both ages negative for as long as the step.
      now < entry.since ||
      now < entry.opened ||
      now - entry.since > idleMs ||
      now - entry.opened > MAX_LIFETIME_MS ||
      entry.control.signal.aborted
    ) {
      void this.#discard(entry);
      return undefined;
    }
    entry.session.ref?.();
    return entry;
  }

  #lend(entry: Entry, signal: AbortSignal, idleMs: number, reused: boolean): KeptSession {
    const stop = forwardAbort(signal, entry.control);
    let kept = false;
    let failed = false;
    let closed = false;
    return {
      reused,
      keep: () => {
        kept = true;
      },
      query: async <Row>(sql: string, params?: readonly unknown[]) => {
        // A promise a step left behind must never reach the next step's session.
        if (closed) throw new Error('session already returned to the keeper');
        try {
          return await entry.session.query<Row>(sql, params);
        } catch (error) {
          failed = true;
          throw error;
        }
      },
      close: async () => {
        if (closed) return;
        closed = true;
        if (kept && !failed && idleMs > 0 && !entry.control.signal.aborted) {
          stop();
          this.#keep(entry, idleMs);
          return;
        }
        // The step's abort still reaches a close that waits behind a statement.
        try {
          await this.#discard(entry);
        } finally {
          stop();
        }
      },
    };
  }

  #keep(entry: Entry, idleMs: number): void {
    entry.since = this.#now();
    entry.session.unref?.();
    // Closed when it would no longer be reused anyway; never keeps a process alive.
    entry.timer = setTimeout(() => {
      const index = this.#idle.indexOf(entry);
      if (index !== -1) this.#idle.splice(index, 1);
      void this.#discard(entry);
    }, idleMs);
    entry.timer.unref?.();
    this.#idle.push(entry);
    while (this.#idle.length > MAX_IDLE) {
      const oldest = this.#idle.shift();
      if (oldest) {
        clearTimeout(oldest.timer);
        void this.#discard(oldest);
      }
    }
  }

  async #discard(entry: Entry): Promise<void> {
    await entry.session.close();
  }
}

/** Aborts `control` when `signal` aborts, until the returned function is called. */
function forwardAbort(signal: AbortSignal, control: AbortController): () => void {
  if (signal.aborted) {
    control.abort();
    return () => {};
  }
  const onAbort = () => control.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/**
 * The one keeper of a process: admin sessions outlive the strategy that opened them (a
 * function builds its strategy once, tests build many), and one bound holds for them all.
 */
export const keptSessions = new SessionKeeper();
