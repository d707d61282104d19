import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialRejectedError } from '../../shared/errors.js';
import { aclPasswordHash } from '../../shared/strategies/redis/hashing.js';
import { captureLogs } from '../helpers/captureLogs.js';
import { randomPassword, randomSuffix } from '../helpers/credentials.js';
import { adminSecretFixture, redisHarness, redisStrategy } from '../helpers/redisKind.js';
import { rotationRig, STEPS } from '../helpers/rotationRig.js';
import { type RedisServer, redisSupport, startRedis } from '../helpers/servers/redis.js';
import { describeStrategyConformance } from '../helpers/strategyConformance.js';

const support = redisSupport();
const ENV = { ROTATION_MODE: 'single-user', DEFAULT_SSL_MODE: 'disable' };
/** What an application user typically holds: no ACL rights of its own. */
const APP_RULES = ['~app:*', '%R~shared:*', '&events:*', '-@all', '+@read', '+@write', '+ping'];

describe.skipIf(!support.available)(
  `Redis single-user rotation (real server) ${support.reason}`,
  () => {
    let server: RedisServer;
    const logs = captureLogs();

    beforeAll(async () => {
      server = await startRedis();
    });
    afterAll(async () => {
      await server?.stop();
    });

    const adminValue = () =>
      JSON.stringify({ username: server.admin.username, password: server.admin.password });

    /** Creates a user with `rules` and returns its first AWSCURRENT value. */
    async function seedUser(
      options: { rules?: string[]; admin?: string; extra?: Record<string, unknown> } = {},
    ): Promise<{ secret: string; username: string; password: string }> {
      const username = `app_${randomSuffix()}`;
      const password = randomPassword();
      await server.createUser(username, password, options.rules ?? APP_RULES);
      const secret = JSON.stringify({
        engine: 'redis',
        host: server.host,
        port: server.port,
        username,
        password,
        ...(options.admin ? { masterarn: options.admin } : {}),
        ...options.extra,
      });
      return { secret, username, password };
    }

    const works = async (secretString: string) => {
      const s = JSON.parse(secretString) as { username: string; password: string };
      return server.canLogin(s.username, s.password);
    };
    const hashesOf = async (username: string) => {
      const reply = (await server.command('ACL', 'GETUSER', username)) as unknown[];
      return reply[reply.indexOf('passwords') + 1] as string[];
    };

    describe('with an admin (masterarn)', () => {
      let admin: ReturnType<typeof adminSecretFixture>;
      beforeAll(() => {
        admin = adminSecretFixture(adminValue());
      });
      describeStrategyConformance(
        'redis single-user (admin)',
        redisHarness({
          server: () => server,
          env: ENV,
          createStrategy: () => redisStrategy(ENV, admin),
          seed: async () => (await seedUser({ admin: admin.arn })).secret,
        }),
      );
    });

    describe('with a user that manages its own passwords (no masterarn)', () => {
      describeStrategyConformance(
        'redis single-user (self)',
        redisHarness({
          server: () => server,
          env: ENV,
          createStrategy: () => redisStrategy(ENV),
          seed: async () =>
            (await seedUser({ rules: [...APP_RULES, '+acl|setuser', '+acl|getuser', '+acl|save'] }))
              .secret,
        }),
      );
    });

    it('three rotations: after each, AWSCURRENT and AWSPREVIOUS log in, older passwords are refused, the user holds exactly those two hashes, and the ACL file is saved', async () => {
      const admin = adminSecretFixture(adminValue());
      const { secret, username, password } = await seedUser({
        admin: admin.arn,
        extra: { custom: { keep: 'me' }, user_arn: 'arn:aws:elasticache:us-east-1:1:user:x' },
      });
      const rig = rotationRig(redisStrategy(ENV, admin), secret, ENV);
      const seen = [password];
      for (let rotation = 1; rotation <= 3; rotation += 1) {
        await rig.rotate();
        const current = rig.current() as { username: string; password: string; custom: unknown };
        const previous = rig.previous() as { password: string };
        expect(current.username).toBe(username);
        expect(current.custom).toEqual({ keep: 'me' });
        expect(rig.current().user_arn).toBe('arn:aws:elasticache:us-east-1:1:user:x');
        expect(previous.password).toBe(seen.at(-1));
        seen.push(current.password);
        expect(await server.canLogin(username, current.password)).toBe(true);
        expect(await server.canLogin(username, previous.password)).toBe(true);
        for (const old of seen.slice(0, -2))
          expect(await server.canLogin(username, old)).toBe(false);
        expect((await hashesOf(username)).sort()).toEqual(
          [aclPasswordHash(current.password), aclPasswordHash(previous.password)].sort(),
        );
        const aclFile = await server.readAclFile();
        expect(aclFile).toContain(`#${aclPasswordHash(current.password)}`);
        for (const value of seen) expect(aclFile.includes(value)).toBe(false);
      }
      logs.assertNoneContain([
        ...seen,
        ...seen.map(aclPasswordHash),
        server.admin.password,
        aclPasswordHash(server.admin.password),
      ]);
    });

    it('between setSecret and finishSecret the user holds three passwords: AWSPREVIOUS, AWSCURRENT and AWSPENDING', async () => {
      const admin = adminSecretFixture(adminValue());
      const { secret, username } = await seedUser({ admin: admin.arn });
      const rig = rotationRig(redisStrategy(ENV, admin), secret, ENV);
      await rig.rotate();
      const token = rig.sm.startRotation();
      await rig.run('createSecret', token);
      await rig.run('setSecret', token);
      await rig.run('setSecret', token);
      const pending = JSON.parse(rig.sm.versions.get(token)?.value as string) as {
        password: string;
      };
      for (const value of [rig.previous(), rig.current(), pending] as { password: string }[]) {
        expect(await server.canLogin(username, value.password)).toBe(true);
      }
      expect(await hashesOf(username)).toHaveLength(3);
      await rig.run('testSecret', token);
      await rig.run('finishSecret', token);
      await rig.run('finishSecret', token);
      expect(await hashesOf(username)).toHaveLength(2);
    });

    it('an abandoned rotation (setSecret, then a new token) leaves no stray password after the next finishSecret', async () => {
      const admin = adminSecretFixture(adminValue());
      const { secret, username } = await seedUser({ admin: admin.arn });
      const rig = rotationRig(redisStrategy(ENV, admin), secret, ENV);
      const abandoned = rig.sm.startRotation();
      await rig.run('createSecret', abandoned);
      await rig.run('setSecret', abandoned);
      const stray = JSON.parse(rig.sm.versions.get(abandoned)?.value as string) as {
        password: string;
      };
      rig.sm.versions.get(abandoned)?.stages.clear();
      await rig.rotate();
      expect(await server.canLogin(username, stray.password)).toBe(false);
      expect(await hashesOf(username)).toHaveLength(2);
    });

    it('a user without ACL rights and no masterarn: setSecret fails naming the rights it needs, and nothing changes', async () => {
      const { secret, username } = await seedUser();
      const rig = rotationRig(redisStrategy(ENV), secret, ENV);
      const token = rig.sm.startRotation();
      await rig.run('createSecret', token);
      const error = await rig.run('setSecret', token).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CredentialRejectedError);
      expect((error as Error).message).toMatch(/\+acl\|setuser/);
      expect(await hashesOf(username)).toHaveLength(1);
    });

    it('a server without an ACL file (users in redis.conf): the rotation completes and the log says the change lives in memory', async () => {
      const memory = await startRedis({ aclFile: false });
      try {
        const admin = adminSecretFixture(
          JSON.stringify({ username: memory.admin.username, password: memory.admin.password }),
        );
        const username = `app_${randomSuffix()}`;
        await memory.createUser(username, randomPassword(), APP_RULES);
        const rig = rotationRig(
          redisStrategy(ENV, admin),
          JSON.stringify({
            host: memory.host,
            port: memory.port,
            username,
            password: randomPassword(),
            masterarn: admin.arn,
          }),
          ENV,
        );
        const initial = rig.current() as { password: string };
        await memory.createUser(username, initial.password, APP_RULES);
        await rig.rotate();
        const current = rig.current() as { password: string };
        expect(await memory.canLogin(username, current.password)).toBe(true);
        const warnings = logs.json().filter((line) => /no ACL file/.test(String(line.message)));
        expect(warnings.length).toBeGreaterThan(0);
      } finally {
        await memory.stop();
      }
    });

    it('testSecret refuses a pending value with a wrong password (CredentialRejectedError)', async () => {
      const { secret } = await seedUser();
      const rig = rotationRig(redisStrategy(ENV), secret, ENV);
      const token = rig.sm.startRotation(
        undefined,
        JSON.stringify({ ...JSON.parse(secret), password: randomPassword() }),
      );
      const error = await rig.run('testSecret', token).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CredentialRejectedError);
      expect((error as Error).message).toMatch(/WRONGPASS/);
    });

    it.each([
      ['with an admin (masterarn)', true],
      ['the user managing its own passwords', false],
    ])(
      'a nopass user, %s: setSecret in a cold container refuses once rotation is turned off, and AWSCURRENT keeps working',
      async (_label, withAdmin) => {
        // ACL SETUSER u #<hash> clears nopass: a setSecret applied now would lock out the
        // AWSCURRENT value, and finishSecret refuses from here on.
        const admin = adminSecretFixture(adminValue());
        const rules = withAdmin
          ? APP_RULES
          : [...APP_RULES, '+acl|setuser', '+acl|getuser', '+acl|save'];
        const { secret, username, password } = await seedUser({
          rules,
          ...(withAdmin ? { admin: admin.arn } : {}),
        });
        await server.command('ACL', 'SETUSER', username, 'nopass');
        const rig = rotationRig(redisStrategy(ENV, withAdmin ? admin : undefined), secret, ENV);
        const token = rig.sm.startRotation();
        await rig.run('createSecret', token);
        rig.sm.rotationEnabled = false;
        const error = await rig.run('setSecret', token).catch((e: unknown) => e);
        expect((error as Error).message).toMatch(/does not have rotation enabled/);
        expect(await server.canLogin(username, password)).toBe(true);
      },
    );

    it('a refused cached admin password is read again once (forceFetch) and the rotation completes', async () => {
      const stale = JSON.stringify({ username: server.admin.username, password: randomPassword() });
      const admin = adminSecretFixture(stale);
      const { secret } = await seedUser({ admin: admin.arn });
      const rig = rotationRig(redisStrategy(ENV, admin), secret, ENV);
      const token = rig.sm.startRotation();
      await rig.run('createSecret', token);
      await admin.reader.current(admin.arn);
      admin.replace(adminValue());
      for (const step of STEPS.slice(1)) await rig.run(step, token);
      expect(admin.reads.forced).toBeGreaterThanOrEqual(1);
      expect(await works(JSON.stringify(rig.current()))).toBe(true);
    });
  },
);
