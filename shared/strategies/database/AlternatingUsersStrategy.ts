import type { GenerateRequest, PendingRequest, RotationStrategy } from '../../engine/types.js';
import { CredentialRejectedError, SecretFormatError } from '../../errors.js';
import { alternateUsername, baseUsername, CLONE_SUFFIX } from '../../kinds/usernames.js';
import { firstAdminLogin } from '../../secrets/AdminSecrets.js';
import type { PasswordPolicy } from '../../secrets/passwords.js';
import { type AdminSecretSource, adminLoginFor } from './adminSecrets.js';
import type { DatabaseDialect, DialectSet, Privilege, UserPair } from './dialect.js';
import type { ConnectOptions, DatabaseSession, LoginTarget } from './driver.js';
import { LoginRefusedError } from './errors.js';
import { ensureGrantParity, grantParityHolds } from './grantParity.js';
import {
  DEFAULT_KEEP_MS,
  type KeptSession,
  keptSessions,
  type SessionKeeper,
} from './keptSessions.js';
import { type DatabaseSecret, withLogin } from './secret.js';
import {
  connectOptions,
  type DatabaseStrategyOptions,
  loginOf,
  refusedAsUndefined,
  SecretResolver,
  verifySecretLogin,
} from './sessions.js';

/** Options for {@link AlternatingUsersStrategy}. */
export interface AlternatingUsersOptions extends DatabaseStrategyOptions {
  /** Where the admin secret named by `masterarn` is read. */
  admins: AdminSecretSource;
  /**
   * How long, in milliseconds, the admin's session is kept open after a setSecret that
   * left it clean, for the next setSecret of this process with the same admin login
   * ({@link SessionKeeper}); 0 closes it after each step. Default 60000 (the functions read
   * `ADMIN_SESSION_KEEP_SECONDS`).
   */
  adminSessionKeepMs?: number;
  /** Where kept admin sessions wait; default the process's {@link keptSessions}. */
  keeper?: SessionKeeper;
}

/**
 * Alternating-users rotation (AWS's `…RotationMultiUser`): the secret alternates between
 * `<user>` and `<user>_clone`; an admin login (the `masterarn` secret) creates the clone
 * and sets passwords, so the user the application holds keeps working until the next
 * rotation. Every rotation also checks grant parity (see {@link ensureGrantParity}).
 */
export class AlternatingUsersStrategy implements RotationStrategy {
  readonly name: string;
  readonly passwordDefaults: Partial<PasswordPolicy> | undefined;
  readonly #resolver: SecretResolver;
  readonly #options: AlternatingUsersOptions;

  constructor(dialects: DialectSet, options: AlternatingUsersOptions) {
    this.name = `${dialects.name}-alternating-users`;
    this.passwordDefaults = dialects.passwordDefaults;
    this.#options = options;
    this.#resolver = new SecretResolver(dialects, {
      alternating: true,
      ...(options.defaultSslMode ? { defaultSslMode: options.defaultSslMode } : {}),
    });
  }

  /** The other user of the pair, with a new password; every other field kept. */
  async generatePending(request: GenerateRequest): Promise<string> {
    const { secret, dialect } = this.#resolver.resolve(await request.current(), 'AWSCURRENT');
    const username = alternateUsername(secret.username, dialect.usernameLimit);
    return withLogin(secret, { username, password: await request.generatePassword() });
  }

  /**
   * `setSecret`: acts as admin only once the current value has logged in (so the admin login
   * is used only on behalf of someone who holds a working credential: AWS's confused-deputy
   * check), then as admin creates the pending user if missing, brings its privileges to
   * parity with the current user's, and sets its password on every account (a pending
   * login that works proves only the account it reached, so none is tried). Round trips:
   * two logins side by side (the admin's password is sent only once the current login
   * works). PostgreSQL, when both users exist: the whole privilege read on the current
   * user's session (pin and read in one statement list) beside the admin's login, while
   * the admin changes the password in a transaction left open (`BEGIN`, `ALTER ROLE`, the
   * iteration count: one round trip), then `COMMIT` once the read shows parity; otherwise
   * `ROLLBACK` and the general path. MySQL (no transactional `ALTER USER`): the probe on the
   * current user's session (part of its login), the lookup, `SHOW GRANTS` per account, the
   * password change. A repair adds its statements and one
   * re-read. In a warm process the admin's session of the previous setSecret is reused
   * (see {@link SessionKeeper}): one login; the kept session's probe runs while the
   * current login does (on MySQL the privilege read is that probe).
   */
  async apply(request: PendingRequest): Promise<void> {
    const { secret: current, dialect } = this.#resolver.resolve(
      await request.current(),
      'AWSCURRENT',
    );
    const { secret: pending } = this.#resolver.resolve(await request.pending(), 'AWSPENDING');
    this.#checkPair(current, pending, dialect);
    const options = connectOptions(this.#options, request.signal);
    // No login with the pending value first (single-user's idempotency check): the password
    // is set on every account whatever such a login would show, so it could change
    // nothing, and each refused login costs a connect and counts against the account on
    // servers that lock accounts after failed logins.
    // The admin acts only on behalf of a caller whose current credential works (AWS's
    // confused-deputy check): its login starts beside the current one, but its password
    // is withheld until the current login has succeeded (a driver opens the connection
    // meanwhile, or waits), and the admin login fails, unused, when the current one fails.
    const refusal = (error: unknown) =>
      error instanceof LoginRefusedError
        ? new CredentialRejectedError(
            `Unable to log into ${dialect.label} with the AWSCURRENT value of user "${current.username}": refusing to act as admin on its behalf`,
            { cause: error },
          )
        : error;
    // Where no read runs on it, the current user's session must also run a statement before
    // the admin acts: MySQL completes the handshake of logins that cannot (an expired
    // password's sandbox mode, an init_connect that ends the session).
    const connected = dialect.connect(loginOf(current), options);
    const currentLogin = dialect.beginPrivilegeRead
      ? connected
      : connected.then(async (session) => {
          try {
            await dialect.probe(session);
            return session;
          } catch (error) {
            await session.close();
            throw error;
          }
        });
    const currentWorks = currentLogin.then(
      () => undefined,
      (error: unknown) => Promise.reject(refusal(error)),
    );
    const pair: UserPair = {
      current: current.username,
      pending: pending.username,
      base: baseUsername(current.username),
      clone: `${baseUsername(current.username)}${CLONE_SUFFIX}`,
    };
    // A kept admin session is there at once: where the read cannot run on the current
    // user's session, the admin makes it while the current login runs (a read: nothing is
    // changed as admin before that login works, and the read is dropped if it fails). It
    // also proves the kept session alive: a read that fails gets a new session instead.
    let earlyRead: Promise<Privilege[][] | undefined> | undefined;
    const readEarly = dialect.beginPrivilegeRead
      ? undefined
      : (admin: DatabaseSession) => {
          const read = dialect.privileges(admin, [pair.current, pair.pending], pair);
          earlyRead = read.catch(() => undefined);
          return read;
        };
    const adminLogin = this.#adminSession(
      request,
      current,
      dialect,
      { ...options, authorize: currentWorks },
      readEarly,
    );
    const change = {
      username: pending.username,
      password: pending.password,
      register: (value: string) => request.registerSecret(value),
    };
    // Where password changes are transactional, the change is made as soon as the admin is
    // in, while the privilege read runs, and committed only once parity is known to hold
    // (the dialect derives the verifier meanwhile).
    const staged = dialect.stagePassword?.(adminLogin, change);
    // Observed here, awaited later: a failure in between must not go unhandled.
    currentWorks.catch(() => {});
    adminLogin.catch(() => {});
    const closeAdmin = () => adminLogin.then((session) => session.close()).catch(() => {});
    let currentSession: DatabaseSession;
    try {
      currentSession = await currentLogin;
    } catch (error) {
      // Settled before we throw, so no connection outlives the step.
      await closeAdmin();
      throw refusal(error);
    }
    let currentClosed: Promise<void> | undefined;
    const closeCurrent = () => {
      currentClosed ??= currentSession.close();
      return currentClosed;
    };
    try {
      // Where any user may read them, the privilege read starts on the current user's
      // session while the admin secret is read and the admin logs in (otherwise the probe
      // ran with the login).
      const finishRead = dialect.beginPrivilegeRead?.(
        currentSession,
        [pair.current, pair.pending],
        pair,
      );
      // A read that fails is made again as admin by the general path below (PostgreSQL's
      // fallback on the admin's session fails in a transaction a refused staged change
      // aborted: on a first rotation, the user does not exist yet).
      const readHere = finishRead ? await finishRead(adminLogin).catch(() => undefined) : undefined;
      // Done with: its backend exits while the admin works rather than in the next step.
      void closeCurrent();
      const admin = await adminLogin;
      // Set by then, if the admin's session was a kept one.
      const firstRead = readHere ?? (await earlyRead);
      if (staged) {
        const read = (await staged.ready)
          ? (firstRead ?? (await dialect.privileges(admin, [pair.current, pair.pending], pair)))
          : undefined;
        if (read && grantParityHolds(read)) {
          const parity = await ensureGrantParity(dialect, admin, pair, request.logger, read);
          await staged.commit();
          admin.keep();
          request.logger.info('Alternate user ready', {
            user: pending.username,
            created: false,
            privilegesRepaired: parity.repaired.length,
            adminSessionReused: admin.reused,
          });
          return;
        }
        await staged.rollback();
      }
      const created = await dialect.ensureUser(admin, current.username, change);
      if (created) request.logger.info('Created the alternate user', { user: pending.username });
      // A user just created was not there for that read: the admin reads it all again.
      const read = created ? undefined : firstRead;
      // Before the password: the pending user is AWSPREVIOUS's, which applications may
      // still use, so its password changes only once the rotation can go on.
      const parity = await ensureGrantParity(dialect, admin, pair, request.logger, read);
      // Always, even when the pending login already works: that proves only the account it
      // reached. A crash between two accounts (MySQL hosts) of an earlier attempt, or a
      // creation that added only some accounts, leaves others with an older password.
      await dialect.setUserPassword(admin, change);
      admin.keep();
      request.logger.info('Alternate user ready', {
        user: pending.username,
        created,
        privilegesRepaired: parity.repaired.length,
        adminSessionReused: admin.reused,
      });
    } finally {
      await Promise.all([closeAdmin(), closeCurrent()]);
    }
  }

  /** The admin secret (`masterarn`), read with the current value where the engine can. */
  companionSecrets(pending: string): readonly string[] {
    const { masterarn } = this.#resolver.resolve(pending, 'AWSPENDING').secret;
    return masterarn ? [masterarn] : [];
  }

  /** `testSecret`: logs in with the pending value and runs a harmless query. */
  async verify(request: PendingRequest): Promise<void> {
    await verifySecretLogin(
      this.#resolver,
      await request.pending(),
      'AWSPENDING',
      connectOptions(this.#options, request.signal),
    );
  }

  #checkPair(current: DatabaseSecret, pending: DatabaseSecret, dialect: DatabaseDialect): void {
    if (pending.engine !== current.engine) {
      throw new SecretFormatError(
        'engine',
        'of the AWSPENDING value differs from the AWSCURRENT value',
      );
    }
    if (pending.username !== alternateUsername(current.username, dialect.usernameLimit)) {
      throw new SecretFormatError(
        'username',
        'of the AWSPENDING value is not the alternate (_clone toggled) of the AWSCURRENT user',
      );
    }
    if (pending.host !== current.host) {
      throw new SecretFormatError(
        'host',
        'of the AWSPENDING value differs from the AWSCURRENT value',
      );
    }
  }

  /**
   * Admin session from `masterarn`. A refused login is retried once with a fresh read of
   * the admin secret: the cached value may predate a rotation of the admin secret itself.
   */
  async #adminSession(
    request: PendingRequest,
    current: DatabaseSecret,
    dialect: DatabaseDialect,
    options: ConnectOptions,
    firstRead?: (session: KeptSession) => Promise<unknown>,
  ): Promise<KeptSession> {
    const arn = current.masterarn as string;
    const keeper = this.#options.keeper ?? keptSessions;
    const keepMs = this.#options.adminSessionKeepMs ?? DEFAULT_KEEP_MS;
    const session = await firstAdminLogin<LoginTarget, KeptSession>({
      reader: this.#options.admins,
      secretId: arn,
      signal: request.signal,
      register: (value) => request.registerSecret(value),
      logger: request.logger,
      loginOf: (value) => adminLoginFor(value, current),
      tryLogin: (login) =>
        refusedAsUndefined(keeper.open(dialect, login, options, keepMs, firstRead)),
    });
    if (session) return session;
    throw new CredentialRejectedError(
      `Unable to log into ${dialect.label} with the admin secret named by masterarn`,
    );
  }
}
