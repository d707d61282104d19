import { createHash } from 'node:crypto';

/**
 * The form Redis keeps an ACL password in, and the only form this kind sends in a
 * command: the SHA-256 of the password's UTF-8 bytes, in lower-case hex
 * (`ACL SETUSER u #<hash>` adds it, `!<hash>` removes it). A derived secret: whoever holds
 * it can check guesses offline, so callers register it for log scrubbing.
 *
 * @example
 * ```ts
 * const hash = aclPasswordHash(pending.password);
 * request.registerSecret(hash);
 * ```
 */
export function aclPasswordHash(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('hex');
}

/** Whether `value` has the shape of an ACL password hash (64 lower-case hex digits). */
export function isAclPasswordHash(value: string): boolean {
  return /^[0-9a-f]{64}$/.test(value);
}
