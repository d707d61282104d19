import type {
  GenerateRequest,
  PendingRequest,
  RotationRequest,
  RotationStrategy,
} from '../../engine/types.js';
import { CredentialRejectedError, RotationError, SecretFormatError } from '../../errors.js';
import { addPasswordHash, persistAcl, readAclUser, removePasswordHashes } from './acl.js';
import { openAdminSession } from './admin.js';
import type { RedisSession } from './connection.js';
import { RedisCommandError } from './errors.js';
import { aclPasswordHash } from './hashing.js';
import { tryRedisLogin } from './login.js';
import { connectOptionsFor, type RedisStrategyOptions } from './options.js';
import { RedisStrategyBase } from './RedisStrategyBase.js';
import { loginOf, type RedisSecret } from './secret.js';

/**
 * Single-user rotation with two-password overlap: a Redis ACL user may hold several
 * passwords, so `setSecret` adds the new one beside the current one
 * (`ACL SETUSER u #<sha256>`), and `finishSecret` removes every password but the new
 * `AWSCURRENT` and the `AWSPREVIOUS` it replaced. Applications holding either value keep
 * working; none ever holds a dead password, unlike single-user database rotation.
 *
 * Who changes the passwords: the admin named by `masterarn` when the secret has one, else
 * the user itself, which then needs `+acl|setuser +acl|getuser` (and `+acl|save` with
 * `+config|get` where the server has an ACL file). Either way the rotated user first
 * proves it holds a working password (the confused-deputy check of AWS's functions).
 */
export class RedisSingleUserStrategy extends RedisStrategyBase implements RotationStrategy {
  readonly name = 'redis-single-user';

  constructor(options: RedisStrategyOptions) {
    super(options, false);
  }

  /** Same user, new password; every other field kept. */
  generatePending(request: GenerateRequest): Promise<string> {
    return this.nextValue(request, (current) => current.username);
  }

  /**
   * `setSecret`: adds the pending password's hash to the user. Idempotent: adding a hash
   * the user already has changes nothing, so a retry runs the same command again.
   */
  async apply(request: PendingRequest): Promise<void> {
    const pending = this.parse(await request.pending(), 'AWSPENDING');
    const current = this.parse(await request.current(), 'AWSCURRENT');
    for (const field of ['username', 'host', 'port'] as const) {
      if (pending[field] !== current[field]) {
        throw new SecretFormatError(
          field,
          'of the AWSPENDING value differs from the AWSCURRENT value (single-user rotation changes the passwords of one user)',
        );
      }
    }
    const hash = aclPasswordHash(pending.password);
    request.registerSecret(hash);
    const by = await this.#asManager(request, current, [current, pending], async (session) => {
      await addPasswordHash(session, pending.username, hash);
      await persistAcl(session, request.logger);
    });
    request.logger.info('Added the pending password to the user', { user: pending.username, by });
  }

  /**
   * `finishSecret`: removes every password of the user but the new `AWSCURRENT` and the
   * `AWSPREVIOUS` it replaced: the one two generations old, and any a failed rotation left
   * behind. Idempotent: it reads the user's hashes, removes only what is there and saves the
   * ACL file every time (a retry after a failed save finds nothing to remove). Refuses
   * to remove anything when the `AWSCURRENT` password is not among them.
   */
  async afterPromotion(request: PendingRequest): Promise<void> {
    const current = this.parse(await request.current(), 'AWSCURRENT');
    const keep = [aclPasswordHash(current.password)];
    const previous = await this.#previous(request);
    if (previous?.username === current.username) keep.push(aclPasswordHash(previous.password));
    for (const hash of keep) request.registerSecret(hash);
    let removed = 0;
    const by = await this.#asManager(request, current, [current], async (session) => {
      const user = await readAclUser(session, current.username);
      if (user === undefined || !user.passwords.includes(keep[0] as string)) {
        throw new CredentialRejectedError(
          `The AWSCURRENT password is not among the passwords of user "${current.username}": removing none`,
        );
      }
      const stale = user.passwords.filter((hash) => !keep.includes(hash));
      for (const hash of stale) request.registerSecret(hash);
      removed = stale.length;
      await removePasswordHashes(session, current.username, stale);
      // Saved even when nothing is left to remove: a retry after a failed ACL SAVE finds
      // the hashes already gone from memory but still in the file a restart reads.
      await persistAcl(session, request.logger);
    });
    request.logger.info('Removed the passwords older than AWSPREVIOUS', {
      user: current.username,
      removed,
      by,
    });
  }

  async #previous(request: RotationRequest): Promise<RedisSecret | undefined> {
    const value = await request.previous();
    if (value === undefined) return undefined;
    try {
      return this.parse(value, 'AWSPREVIOUS');
    } catch (error) {
      if (!(error instanceof RotationError)) throw error;
      request.logger.warn('AWSPREVIOUS value is unusable: its password is not kept', {
        reason: error.message,
      });
      return undefined;
    }
  }

  /**
   * Runs `work` as whoever manages the user's passwords, after a login of the rotated user
   * with the first of `proofs` that works. Returns who did the work.
   */
  async #asManager(
    request: RotationRequest,
    secret: RedisSecret,
    proofs: readonly RedisSecret[],
    work: (session: RedisSession) => Promise<void>,
  ): Promise<'admin' | 'user'> {
    const options = connectOptionsFor(this.options, request.signal);
    let own: RedisSession | undefined;
    for (const proof of proofs) {
      own = await tryRedisLogin(this.options.connect, loginOf(proof), options);
      if (own) break;
    }
    if (!own) {
      throw new CredentialRejectedError(
        `Unable to log into Redis as user "${secret.username}" with the current or pending secret value`,
      );
    }
    if (secret.masterarn !== undefined) {
      await own.close();
      const admin = await openAdminSession(request, secret, {
        adminSecrets: this.options.adminSecrets,
        connect: this.options.connect,
        options,
      });
      try {
        await work(admin);
      } finally {
        await admin.close();
      }
      return 'admin';
    }
    try {
      await work(own);
    } catch (error) {
      if (error instanceof RedisCommandError && error.code === 'NOPERM') {
        throw new CredentialRejectedError(
          `User "${secret.username}" may not manage its own passwords (${error.operation} was refused): grant it +acl|setuser +acl|getuser +acl|save, or add masterarn naming an admin secret`,
          { cause: error },
        );
      }
      throw error;
    } finally {
      await own.close();
    }
    return 'user';
  }
}
