import { describe, expect, it } from 'vitest';
import { RedisCommandError } from '../../shared/strategies/redis/errors.js';
import {
  type AclUser,
  cloneRules,
  parseAclUser,
  ruleDifferences,
} from '../../shared/strategies/redis/rules.js';

const HASH = 'f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a';

/** An `ACL GETUSER` reply as Redis 7.0 sends it over RESP2 (captured from redis-server 7.0.15). */
const REPLY = [
  'flags',
  ['on', 'skip-sanitize-payload'],
  'passwords',
  [HASH],
  'commands',
  '-@all +@write +@read +client|setname',
  'keys',
  '~app:* %R~shared:*',
  'channels',
  '&events:*',
  'selectors',
  [
    ['commands', '-@all +get', 'keys', '~x*', 'channels', ''],
    ['commands', '-@all +set', 'keys', '%W~y*', 'channels', '&audit'],
  ],
];

describe('parseAclUser', () => {
  it('reads flags, password hashes, rule strings and selectors', () => {
    expect(parseAclUser(REPLY)).toEqual({
      flags: ['on', 'skip-sanitize-payload'],
      passwords: [HASH],
      commands: '-@all +@write +@read +client|setname',
      keys: '~app:* %R~shared:*',
      channels: '&events:*',
      selectors: [
        { commands: '-@all +get', keys: '~x*', channels: '' },
        { commands: '-@all +set', keys: '%W~y*', channels: '&audit' },
      ],
    });
  });

  it('returns undefined for a user that does not exist (nil reply)', () => {
    expect(parseAclUser(null)).toBeUndefined();
  });

  it.each([
    ['Redis 6.2 keys as a list', ['flags', ['on'], 'commands', '+@all', 'keys', ['*']]],
    ['an odd-length reply', ['flags']],
    ['no commands', ['flags', ['on']]],
    ['a scalar', 'OK'],
  ])('refuses %s with a RedisCommandError asking for Redis 7', (_label, reply) => {
    expect(() => parseAclUser(reply)).toThrow(RedisCommandError);
    expect(() => parseAclUser(reply)).toThrow(/7 or later/);
  });
});

describe('cloneRules', () => {
  const source = parseAclUser(REPLY) as AclUser;

  it('clears the target (passwords included) and rebuilds every rule of the source, never its hashes', () => {
    const rules = cloneRules(source);
    expect(rules).toEqual([
      'resetpass',
      'resetkeys',
      'resetchannels',
      'clearselectors',
      '-@all',
      'on',
      'skip-sanitize-payload',
      '~app:*',
      '%R~shared:*',
      '&events:*',
      '-@all',
      '+@write',
      '+@read',
      '+client|setname',
      '(~x* -@all +get)',
      '(%W~y* &audit -@all +set)',
    ]);
    expect(rules.join(' ')).not.toContain(HASH);
    expect(rules.some((rule) => /^[#!<>]/.test(rule))).toBe(false);
  });

  it('does not copy nopass (the clone gets a password) nor use reset (which adds sanitize-payload)', () => {
    const rules = cloneRules({ ...source, flags: ['off', 'nopass'] });
    expect(rules).toContain('off');
    expect(rules).not.toContain('nopass');
    expect(rules).not.toContain('reset');
  });

  it('refuses a flag it does not know rather than guess', () => {
    expect(() => cloneRules({ ...source, flags: ['on', 'allkeys'] })).toThrow(/allkeys/);
  });
});

describe('ruleDifferences', () => {
  const source = parseAclUser(REPLY) as AclUser;

  it('is empty for the same rules with other passwords', () => {
    expect(
      ruleDifferences(source, {
        ...source,
        passwords: [],
        flags: ['skip-sanitize-payload', 'on', 'nopass'],
      }),
    ).toEqual([]);
  });

  it('names each part that differs, never a value', () => {
    const clone: AclUser = {
      ...source,
      flags: ['off', 'skip-sanitize-payload'],
      keys: '~app:*',
      selectors: source.selectors.slice(1),
    };
    expect(ruleDifferences(source, clone)).toEqual(['flags', 'keys', 'selectors']);
  });

  it('ignores a payload-sanitising flag the source does not set (the server default applies)', () => {
    const plain: AclUser = { ...source, flags: ['on'] };
    expect(ruleDifferences(plain, { ...plain, flags: ['on', 'sanitize-payload'] })).toEqual([]);
  });
});
