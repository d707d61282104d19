import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PendingRequest } from '../../shared/engine/types.js';
import { CredentialRejectedError, SecretFormatError } from '../../shared/errors.js';
import { RedisConnectionError } from '../../shared/strategies/redis/errors.js';
import { redisKind } from '../../shared/strategies/redis/kind.js';
import { captureLogs } from '../helpers/captureLogs.js';
import { randomPassword, randomSuffix } from '../helpers/credentials.js';
import { adminSecretFixture, redisStrategy } from '../helpers/redisKind.js';
import { rotationRig } from '../helpers/rotationRig.js';
import { type RedisServer, redisSupport, startRedis } from '../helpers/servers/redis.js';
import { freePort } from '../helpers/servers/support.js';
import { selfSignedCertificate } from '../helpers/servers/tlsCertificate.js';

const support = redisSupport();
const ENV = { ROTATION_MODE: 'single-user' };
const RULES = ['~*', '-@all', '+@read', '+ping'];

describe.skipIf(!support.available)(`Redis TLS (real servers) ${support.reason}`, () => {
  let tlsServer: RedisServer;
  let plainServer: RedisServer;
  let dir: string;
  let caFile: string;
  captureLogs();

  beforeAll(async () => {
    const certificate = await selfSignedCertificate();
    [tlsServer, plainServer] = await Promise.all([startRedis({ tls: certificate }), startRedis()]);
    dir = await mkdtemp(join(tmpdir(), 'rotator-redis-ca-'));
    caFile = join(dir, 'ca.pem');
    await writeFile(caFile, certificate.cert);
  });
  afterAll(async () => {
    await Promise.all([tlsServer?.stop(), plainServer?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function seed(server: RedisServer, tls: Record<string, unknown>, admin?: string) {
    const username = `tls_${randomSuffix()}`;
    const password = randomPassword();
    await server.createUser(username, password, RULES);
    return {
      username,
      password,
      secret: JSON.stringify({
        host: server.host,
        port: server.port,
        username,
        password,
        ...(admin ? { masterarn: admin } : {}),
        ...tls,
      }),
    };
  }

  /** Runs the strategy's verify (testSecret) on `secretString` alone. */
  async function testSecret(secretString: string, connectTimeoutMs = 5_000): Promise<unknown> {
    const request = {
      secretId: 'arn:test',
      token: 't',
      step: 'testSecret',
      logger: { info() {}, warn() {}, error() {}, debug() {} },
      signal: new AbortController().signal,
      current: async () => secretString,
      previous: async () => undefined,
      pending: async () => secretString,
      registerSecret() {},
    } as unknown as PendingRequest;
    return redisStrategy(ENV, undefined, connectTimeoutMs)
      .verify(request)
      .then(
        () => undefined,
        (error: unknown) => error,
      );
  }

  it('verify-full with the server certificate as sslCa (PEM text) rotates, the admin inheriting the TLS settings', async () => {
    const admin = adminSecretFixture(
      JSON.stringify({ username: tlsServer.admin.username, password: tlsServer.admin.password }),
    );
    const { secret, username, password } = await seed(
      tlsServer,
      { sslMode: 'verify-full', sslCa: tlsServer.cert },
      admin.arn,
    );
    const rig = rotationRig(redisStrategy(ENV, admin), secret, ENV);
    await rig.rotate();
    const current = rig.current() as { password: string; sslCa: string };
    expect(current.sslCa).toBe(tlsServer.cert);
    expect(await tlsServer.canLogin(username, current.password)).toBe(true);
    expect(await tlsServer.canLogin(username, password)).toBe(true);
  });

  it('verify-full with an absolute CA file path passes testSecret; ssl "true" with the file too', async () => {
    for (const tls of [
      { sslMode: 'verify-full', sslCa: caFile },
      { ssl: 'true', sslCa: caFile },
    ]) {
      expect(await testSecret((await seed(tlsServer, tls)).secret)).toBeUndefined();
    }
  });

  it('verify-full without a CA fails on the self-signed certificate; require (unverified TLS) works', async () => {
    const { secret } = await seed(tlsServer, { sslMode: 'verify-full' });
    const error = await testSecret(secret);
    expect(error).toBeInstanceOf(RedisConnectionError);
    expect((error as RedisConnectionError).code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
    expect(await testSecret((await seed(tlsServer, { sslMode: 'require' })).secret)).toBe(
      undefined,
    );
  });

  it.each([
    ['sslMode "require"', { sslMode: 'require' }],
    ['ssl true', { ssl: true }],
    ['no TLS field (default verify-full)', {}],
  ])(
    'TLS asked for (%s) against a plaintext server fails and never falls back to plaintext: no AUTH reaches the server',
    async (_label, tls) => {
      const { secret } = await seed(plainServer, tls);
      const monitor = await plainServer.monitor();
      try {
        // A TLS ClientHello gets no answer from a plaintext Redis: the connect times out.
        const error = await testSecret(secret, 500);
        expect(error).toBeInstanceOf(RedisConnectionError);
        expect((error as Error).message).toMatch(/ETIMEDOUT/);
        const marker = `marker-${randomSuffix()}`;
        await plainServer.command('ECHO', marker);
        await expect
          .poll(() => monitor.commands.some((c) => c.args.includes(marker)), { timeout: 5_000 })
          .toBe(true);
        // The helper's own admin connection for ECHO authenticates once; nothing else may.
        const auths = monitor.commands.filter((c) => c.args[0]?.toUpperCase() === 'AUTH');
        expect(auths).toHaveLength(1);
      } finally {
        await monitor.stop();
      }
    },
  );

  it('sslMode "disable" against a TLS-only server fails instead of sending AUTH in plaintext', async () => {
    const { secret } = await seed(tlsServer, { sslMode: 'disable' });
    expect(await testSecret(secret)).toBeInstanceOf(RedisConnectionError);
  });

  describe('the CLI login check (redisKind.checkLogin) and testSecret agree on every secret', () => {
    const cases: [string, () => Promise<string>, string][] = [
      [
        'a working login',
        async () => (await seed(tlsServer, { sslCa: tlsServer.cert })).secret,
        'accepted',
      ],
      [
        'a wrong password',
        async () => {
          const s = JSON.parse((await seed(tlsServer, { sslCa: tlsServer.cert })).secret);
          return JSON.stringify({ ...s, password: randomPassword() });
        },
        'rejected',
      ],
      [
        'no CA for a self-signed certificate',
        async () => (await seed(tlsServer, {})).secret,
        'error',
      ],
      [
        'a relative CA path',
        async () => (await seed(tlsServer, { sslCa: 'certs/ca.pem' })).secret,
        'invalid',
      ],
      [
        'an unreadable CA file',
        async () => (await seed(tlsServer, { sslCa: join(dir, 'missing.pem') })).secret,
        'invalid',
      ],
      [
        'ssl false contradicting sslMode verify-full',
        async () => (await seed(tlsServer, { ssl: false, sslMode: 'verify-full' })).secret,
        'invalid',
      ],
      [
        'a closed port',
        async () => {
          const s = JSON.parse((await seed(plainServer, { sslMode: 'disable' })).secret);
          return JSON.stringify({ ...s, port: await freePort() });
        },
        'unreachable',
      ],
      [
        'a port out of range',
        async () =>
          JSON.stringify({ ...JSON.parse((await seed(plainServer, {})).secret), port: 70000 }),
        'invalid',
      ],
    ];
    it.each(cases)('%s', async (_label, make, outcome) => {
      const secret = await make();
      const verdict = await redisKind.checkLogin?.(secret, {
        env: ENV,
        timeoutMs: 5_000,
        signal: new AbortController().signal,
      });
      expect(verdict?.outcome).toBe(outcome);
      const error = await testSecret(secret);
      if (outcome === 'accepted') expect(error).toBeUndefined();
      if (outcome === 'rejected') expect(error).toBeInstanceOf(CredentialRejectedError);
      if (outcome === 'invalid') {
        expect(error).toBeInstanceOf(SecretFormatError);
        expect(verdict?.field).toBe((error as SecretFormatError).field);
      }
      if (outcome === 'error' || outcome === 'unreachable') {
        expect(error).toBeInstanceOf(RedisConnectionError);
        expect(verdict?.detail).toBe((error as RedisConnectionError).code);
      }
    });
  });
});
