import type { GenerateRequest, PendingRequest, RotationStrategy } from '../../engine/types.js';
import { CredentialRejectedError, SecretFormatError } from '../../errors.js';
import { alternateUsername, type UsernameLimit } from '../../kinds/usernames.js';
import { cloneUser, persistAcl } from './acl.js';
import { openAdminSession } from './admin.js';
import { RedisLoginRefusedError } from './errors.js';
import { aclPasswordHash } from './hashing.js';
import { ping, withRedisSession } from './login.js';
import { connectOptionsFor, type RedisStrategyOptions } from './options.js';
import { RedisStrategyBase } from './RedisStrategyBase.js';
import { loginOf } from './secret.js';

/** Redis sets no length limit on ACL user names; the `_clone` toggle only needs a bound. */
const REDIS_USERNAME_LIMIT: UsernameLimit = { max: 1_024, unit: 'bytes' };

/**
 * Alternating-users rotation: the secret alternates between `<user>` and `<user>_clone`.
 * The admin named by `masterarn` writes the user about to become current with exactly the
 * current user's rules and the new password only, in one `ACL SETUSER`, so the user the
 * applications hold keeps working until the next rotation.
 */
export class RedisAlternatingUsersStrategy extends RedisStrategyBase implements RotationStrategy {
  readonly name = 'redis-alternating-users';

  constructor(options: RedisStrategyOptions) {
    super(options, true);
  }

  /** The other user of the pair, with a new password; every other field kept. */
  generatePending(request: GenerateRequest): Promise<string> {
    return this.nextValue(request, (current) =>
      alternateUsername(current.username, REDIS_USERNAME_LIMIT),
    );
  }

  /**
   * `setSecret`: logs in as the current user first (the admin acts only for someone who
   * holds a working credential), then as admin clones the current user's rules onto the
   * pending user with the pending password's hash, and saves the ACL file. Idempotent: the
   * clone is rewritten whole every time.
   */
  /**
   * The admin secret (`masterarn`), read with the current value where the engine can. Not
   * for single-user, whose setSecret can change the credential in use (a `nopass` user
   * loses `nopass` with its first password): it keeps the engine's RotationEnabled check.
   */
  companionSecrets(pending: string): readonly string[] {
    const { masterarn } = this.parse(pending, 'AWSPENDING');
    return masterarn === undefined ? [] : [masterarn];
  }

  async apply(request: PendingRequest): Promise<void> {
    const current = this.parse(await request.current(), 'AWSCURRENT');
    const pending = this.parse(await request.pending(), 'AWSPENDING');
    if (pending.username !== alternateUsername(current.username, REDIS_USERNAME_LIMIT)) {
      throw new SecretFormatError(
        'username',
        'of the AWSPENDING value is not the alternate (_clone toggled) of the AWSCURRENT user',
      );
    }
    for (const field of ['host', 'port'] as const) {
      if (pending[field] !== current[field]) {
        throw new SecretFormatError(
          field,
          'of the AWSPENDING value differs from the AWSCURRENT value',
        );
      }
    }
    const options = connectOptionsFor(this.options, request.signal);
    try {
      await withRedisSession(this.options.connect, loginOf(current), options, ping);
    } catch (error) {
      if (error instanceof RedisLoginRefusedError) {
        throw new CredentialRejectedError(
          `Unable to log into Redis with the AWSCURRENT value of user "${current.username}": refusing to act as admin on its behalf`,
          { cause: error },
        );
      }
      throw error;
    }
    const hash = aclPasswordHash(pending.password);
    request.registerSecret(hash);
    const admin = await openAdminSession(request, current, {
      adminSecrets: this.options.adminSecrets,
      connect: this.options.connect,
      options,
    });
    try {
      const { created } = await cloneUser(admin, current.username, pending.username, hash);
      await persistAcl(admin, request.logger);
      request.logger.info('Alternate user ready', { user: pending.username, created });
    } finally {
      await admin.close();
    }
  }
}
