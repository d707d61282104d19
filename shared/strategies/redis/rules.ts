import { RedisCommandError } from './errors.js';

/** One selector of a Redis 7 user: a further set of command, key and channel rules. */
export interface AclSelector {
  readonly commands: string;
  readonly keys: string;
  readonly channels: string;
}

/**
 * A user as `ACL GETUSER` describes it on Redis 7+ and Valkey. `passwords` are SHA-256
 * hashes (derived secrets); every other part is a rule string the server itself wrote.
 */
export interface AclUser {
  /** `on`/`off`, `nopass`, `sanitize-payload`/`skip-sanitize-payload`. */
  readonly flags: readonly string[];
  readonly passwords: readonly string[];
  /** e.g. `-@all +@read +@write` */
  readonly commands: string;
  /** e.g. `~app:* %R~cache:*`, empty for none. */
  readonly keys: string;
  /** e.g. `&*`, empty for none. */
  readonly channels: string;
  readonly selectors: readonly AclSelector[];
}

/** Flags a clone takes over; `nopass` is a password property and is never copied. */
const COPIED_FLAGS = new Set(['on', 'off', 'sanitize-payload', 'skip-sanitize-payload']);
const KNOWN_FLAGS = new Set([...COPIED_FLAGS, 'nopass']);
const SANITIZE_FLAGS = ['sanitize-payload', 'skip-sanitize-payload'];

function unexpected(part: string): RedisCommandError {
  return new RedisCommandError(
    `read ACL user (unexpected ${part} in the ACL GETUSER reply; Redis or Valkey 7 or later is required)`,
    undefined,
  );
}

/** Reads a RESP2 flat map (`[key, value, key, value, ...]`) into a Map. */
function flatMap(reply: unknown, part: string): Map<string, unknown> {
  if (!Array.isArray(reply) || reply.length % 2 !== 0) throw unexpected(part);
  const map = new Map<string, unknown>();
  for (let i = 0; i < reply.length; i += 2) map.set(String(reply[i]), reply[i + 1]);
  return map;
}

function text(map: Map<string, unknown>, key: string): string {
  const value = map.get(key);
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value.trim();
  if (Buffer.isBuffer(value)) return value.toString('utf8').trim();
  // Redis 6.2 answered `keys` as a list; this kind needs Redis 7's rule strings.
  throw unexpected(`"${key}"`);
}

function strings(map: Map<string, unknown>, key: string): string[] {
  const value = map.get(key);
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw unexpected(`"${key}"`);
  return value.map((item) => String(item));
}

/**
 * Parses an `ACL GETUSER` reply, or returns `undefined` for a user that does not exist
 * (a nil reply). Throws {@link RedisCommandError} for a shape other than Redis 7's.
 */
export function parseAclUser(reply: unknown): AclUser | undefined {
  if (reply === null || reply === undefined) return undefined;
  const map = flatMap(reply, 'reply');
  for (const key of ['flags', 'commands']) if (!map.has(key)) throw unexpected(`"${key}"`);
  const selectors = (map.get('selectors') ?? []) as unknown;
  if (!Array.isArray(selectors)) throw unexpected('"selectors"');
  return {
    flags: strings(map, 'flags'),
    passwords: strings(map, 'passwords'),
    commands: text(map, 'commands'),
    keys: text(map, 'keys'),
    channels: text(map, 'channels'),
    selectors: selectors.map((item) => {
      const selector = flatMap(item, 'selector');
      return {
        commands: text(selector, 'commands'),
        keys: text(selector, 'keys'),
        channels: text(selector, 'channels'),
      };
    }),
  };
}

function words(rules: string): string[] {
  return rules.split(/\s+/).filter((word) => word !== '');
}

/**
 * The `ACL SETUSER` rules that give another user exactly `source`'s rules, after clearing
 * everything the target may hold (its passwords included): `resetpass resetkeys
 * resetchannels clearselectors -@all`, then `source`'s flags (without `nopass`), command
 * rules, key patterns, channel patterns and selectors. Not `reset`: it would also set
 * `sanitize-payload`, which `source` may not have. Sent in one command with the new
 * password hash, the clone changes atomically (Redis 7 applies all rules or none).
 *
 * @example
 * ```ts
 * await session.command('clone user', ['ACL', 'SETUSER', 'app_clone', ...cloneRules(app), `#${hash}`]);
 * ```
 */
export function cloneRules(source: AclUser): string[] {
  const unknown = source.flags.filter((flag) => !KNOWN_FLAGS.has(flag));
  if (unknown.length > 0) throw unexpected(`flag(s) ${unknown.join(', ')}`);
  const selector = (s: AclSelector) =>
    `(${[...words(s.keys), ...words(s.channels), ...words(s.commands)].join(' ')})`;
  return [
    'resetpass',
    'resetkeys',
    'resetchannels',
    'clearselectors',
    '-@all',
    ...source.flags.filter((flag) => COPIED_FLAGS.has(flag)),
    ...words(source.keys),
    ...words(source.channels),
    ...words(source.commands),
    ...source.selectors.map(selector),
  ];
}

/**
 * The parts in which `clone`'s rules differ from `source`'s (`flags`, `commands`, `keys`,
 * `channels`, `selectors`); empty when they are the same. Passwords and `nopass` are not
 * rules; a payload-sanitising flag is compared only when `source` sets one (a user created
 * without one takes the server's default).
 */
export function ruleDifferences(source: AclUser, clone: AclUser): string[] {
  const flags = (user: AclUser) =>
    user.flags
      .filter((flag) => flag !== 'nopass')
      .filter((flag) => !SANITIZE_FLAGS.includes(flag) || source.flags.includes(flag))
      .sort()
      .join(' ');
  const selectors = (user: AclUser) =>
    JSON.stringify(user.selectors.map((s) => [s.commands, s.keys, s.channels]));
  const differences: string[] = [];
  if (flags(source) !== flags(clone)) differences.push('flags');
  for (const part of ['commands', 'keys', 'channels'] as const) {
    if (source[part] !== clone[part]) differences.push(part);
  }
  if (selectors(source) !== selectors(clone)) differences.push('selectors');
  return differences;
}
