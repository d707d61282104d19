import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { normaliseGrant } from '../../shared/strategies/mysql/MysqlDialect.js';
import { mysqlNativePasswordHash } from '../../shared/strategies/mysql/nativePassword.js';
import { saslprep } from '../../shared/strategies/postgres/saslprep.js';
import { scramSha256Verifier } from '../../shared/strategies/postgres/scram.js';

describe('mysql_native_password hash', () => {
  it("matches MariaDB's documented PASSWORD('notagoodpwd')", () => {
    expect(mysqlNativePasswordHash('notagoodpwd')).toBe(
      '*3A70EE9FC6594F88CE9E959CD51C5A1C002DC937',
    );
  });
});

describe('SCRAM-SHA-256 verifier', () => {
  it('has PostgreSQL shape and RFC 5802 keys', () => {
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    const verifier = scramSha256Verifier('pencil', { iterations: 4096, salt });
    const salted = pbkdf2Sync('pencil', salt, 4096, 32, 'sha256');
    const storedKey = createHash('sha256')
      .update(createHmac('sha256', salted).update('Client Key').digest())
      .digest('base64');
    const serverKey = createHmac('sha256', salted).update('Server Key').digest('base64');
    expect(verifier).toBe(`SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$${storedKey}:${serverKey}`);
  });

  it('uses a fresh 16-byte salt each time and the given iteration count', () => {
    const a = scramSha256Verifier('pencil', { iterations: 10_000 });
    const b = scramSha256Verifier('pencil', { iterations: 10_000 });
    expect(a).not.toBe(b);
    expect(a).toMatch(
      /^SCRAM-SHA-256\$10000:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/,
    );
    expect(() => scramSha256Verifier('x', { iterations: 0 })).toThrow(RangeError);
  });

  it('never contains the password', () => {
    const password = 'correct horse battery staple';
    expect(scramSha256Verifier(password)).not.toContain(password);
  });
});

describe('SASLprep as PostgreSQL applies it', () => {
  it.each([
    ['ASCII is untouched, controls included', 'pen\u0007cil', 'pen\u0007cil'],
    ['soft hyphen is removed', 'I\u00ADX', 'IX'],
    ['no-break space becomes a space', 'a\u00A0b', 'a b'],
    ['compatibility characters are NFKC-normalised', '\u2168', 'IX'],
    ['combining sequences are composed', 'e\u0301', '\u00E9'],
  ])('%s', (_label, input, output) => {
    expect(saslprep(input)).toBe(output);
  });

  it.each([
    ['private use', 'a\uE000'],
    ['RandAL and L mixed', '\u05D0a'],
    ['RandAL not at both ends', '\u05D01'],
  ])('fails (the raw password is hashed) for %s', (_label, input) => {
    expect(saslprep(input)).toBeUndefined();
  });
});

describe('SHOW GRANTS normalisation', () => {
  it('removes the password hash and REQUIRE clause and replaces the account', () => {
    const line =
      "GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*C2D24DCA38E9E862098B85BF0AB35CAA52803797' REQUIRE SSL";
    expect(normaliseGrant(line, 'app', '%')).toBe('GRANT USAGE ON *.* TO {{account}}');
  });

  it('keeps WITH GRANT OPTION and resource limits, and handles quoted names', () => {
    expect(
      normaliseGrant('GRANT SELECT ON `db`.* TO `o``b`@`%` WITH GRANT OPTION', 'o`b', '%'),
    ).toBe('GRANT SELECT ON `db`.* TO {{account}} WITH GRANT OPTION');
    expect(
      normaliseGrant(
        "GRANT USAGE ON *.* TO 'app'@'10.%' IDENTIFIED VIA ed25519 USING 'abc' WITH MAX_QUERIES_PER_HOUR 5",
        'app',
        '10.%',
      ),
    ).toBe('GRANT USAGE ON *.* TO {{account}} WITH MAX_QUERIES_PER_HOUR 5');
  });

  it('leaves other accounts (roles, proxies) alone', () => {
    expect(normaliseGrant('GRANT `reader` TO `app`@`%`', 'app', '%')).toBe(
      'GRANT `reader` TO {{account}}',
    );
  });
});
