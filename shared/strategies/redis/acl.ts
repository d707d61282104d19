import type { RotationLogger } from '../../engine/types.js';
import type { RedisSession } from './connection.js';
import { AclRuleParityError, RedisCommandError } from './errors.js';
import { type AclUser, cloneRules, parseAclUser, ruleDifferences } from './rules.js';

/** `ACL GETUSER`: the user's flags, password hashes and rules, or `undefined` when none. */
export async function readAclUser(
  session: RedisSession,
  username: string,
): Promise<AclUser | undefined> {
  return parseAclUser(await session.command('read ACL user', ['ACL', 'GETUSER', username]));
}

/**
 * Adds a password to `username` by its hash (`ACL SETUSER u #<hash>`), keeping the ones it
 * has: the two-password overlap. Idempotent (a hash already there is not added twice).
 */
export async function addPasswordHash(
  session: RedisSession,
  username: string,
  hash: string,
): Promise<void> {
  await session.command('add password hash', ['ACL', 'SETUSER', username, `#${hash}`]);
}

/**
 * Removes passwords from `username` by their hashes, in one command (`!<hash>` each).
 * Idempotent: Redis refuses to remove a hash the user does not have, so only hashes read
 * from the user just before are passed.
 */
export async function removePasswordHashes(
  session: RedisSession,
  username: string,
  hashes: readonly string[],
): Promise<void> {
  if (hashes.length === 0) return;
  await session.command('remove password hashes', [
    'ACL',
    'SETUSER',
    username,
    ...hashes.map((hash) => `!${hash}`),
  ]);
}

/**
 * Gives `to` exactly `from`'s rules and one password, `hash`, in one `ACL SETUSER`
 * (created if missing; its old passwords are dropped, `from`'s are never copied), then
 * reads both users back and fails with {@link AclRuleParityError} if their rules differ.
 * Idempotent: running it again writes the same user.
 */
export async function cloneUser(
  session: RedisSession,
  from: string,
  to: string,
  hash: string,
): Promise<{ created: boolean; source: AclUser }> {
  const source = await readAclUser(session, from);
  if (source === undefined) {
    throw new RedisCommandError(`read ACL user (user "${from}" does not exist)`, undefined);
  }
  const existed = (await readAclUser(session, to)) !== undefined;
  await session.command('clone ACL user', [
    'ACL',
    'SETUSER',
    to,
    ...cloneRules(source),
    `#${hash}`,
  ]);
  const clone = await readAclUser(session, to);
  const differences =
    clone === undefined ? ['user missing after ACL SETUSER'] : ruleDifferences(source, clone);
  if (differences.length > 0) throw new AclRuleParityError(from, to, differences);
  return { created: !existed, source };
}

/** What {@link persistAcl} did. */
export type AclPersistence = 'saved' | 'no-acl-file';

const NOT_CONFIGURED = /not configured to use an ACL file/i;

/**
 * Writes the server's users to its ACL file (`ACL SAVE`) when it has one, so a restart
 * does not bring back the old passwords. The file is found with `CONFIG GET aclfile`; a
 * login without `config|get` tries `ACL SAVE` directly and reads the answer. A server
 * without an ACL file (users in `redis.conf`, or none) keeps the change in memory only:
 * logged as a warning, since `CONFIG REWRITE` is the operator's call. A refused `ACL SAVE`
 * on a server that has a file, or that may have one (a login allowed neither `config|get`
 * nor `acl|save`), fails the step: a restart would otherwise bring back a file in which
 * neither AWSCURRENT nor AWSPREVIOUS logs in. Retrying it is harmless.
 */
export async function persistAcl(
  session: RedisSession,
  logger: RotationLogger,
): Promise<AclPersistence> {
  let hasFile: boolean | undefined;
  try {
    const reply = await session.command('read aclfile setting', ['CONFIG', 'GET', 'aclfile']);
    const value = Array.isArray(reply) ? reply[1] : undefined;
    hasFile = typeof value === 'string' && value.trim() !== '';
  } catch (error) {
    if (!(error instanceof RedisCommandError) || error.code !== 'NOPERM') throw error;
    logger.info('CONFIG GET aclfile not permitted for this login: trying ACL SAVE directly');
  }
  if (hasFile === false) {
    logger.warn(
      'The server has no ACL file: the change lives in memory until the operator persists it (CONFIG REWRITE)',
    );
    return 'no-acl-file';
  }
  try {
    await session.command('save ACL file', ['ACL', 'SAVE']);
  } catch (error) {
    if (hasFile === undefined && error instanceof RedisCommandError) {
      const message = String((error.cause as Error | undefined)?.message ?? '');
      if (error.code === 'ERR' && NOT_CONFIGURED.test(message)) {
        logger.warn('The server has no ACL file: the change lives in memory only');
        return 'no-acl-file';
      }
    }
    throw error;
  }
  logger.info('ACL file saved');
  return 'saved';
}
