import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialRejectedError } from '../../shared/errors.js';
import { aclPasswordHash } from '../../shared/strategies/redis/hashing.js';
import { parseAclUser } from '../../shared/strategies/redis/rules.js';
import { captureLogs } from '../helpers/captureLogs.js';
import { randomPassword, randomSuffix } from '../helpers/credentials.js';
import { adminSecretFixture, redisHarness, redisStrategy } from '../helpers/redisKind.js';
import { rotationRig } from '../helpers/rotationRig.js';
import { type RedisServer, redisSupport, startRedis } from '../helpers/servers/redis.js';
import { describeStrategyConformance } from '../helpers/strategyConformance.js';

const support = redisSupport();
const ENV = { ROTATION_MODE: 'alternating-users', DEFAULT_SSL_MODE: 'disable' };
/** Rules with every part a clone must carry: flags, key and channel patterns, subcommands, selectors. */
const RICH_RULES = [
  'skip-sanitize-payload',
  '~app:*',
  '%R~shared:*',
  '%W~outbox:*',
  '&events:*',
  '-@all',
  '+@read',
  '+@write',
  '+ping',
  '+client|setname',
  '-flushall',
  '(~audit:* +xadd +xrange)',
  '(%R~metrics:* +get)',
];

describe.skipIf(!support.available)(
  `Redis alternating-users rotation (real server) ${support.reason}`,
  () => {
    let server: RedisServer;
    let admin: ReturnType<typeof adminSecretFixture>;
    const logs = captureLogs();

    beforeAll(async () => {
      server = await startRedis();
      admin = adminSecretFixture(
        JSON.stringify({ username: server.admin.username, password: server.admin.password }),
      );
    });
    afterAll(async () => {
      await server?.stop();
    });

    async function seedUser(rules: string[] = RICH_RULES) {
      const username = `app_${randomSuffix()}`;
      const password = randomPassword();
      await server.createUser(username, password, rules);
      const secret = JSON.stringify({
        engine: 'valkey',
        host: server.host,
        port: String(server.port),
        username,
        password,
        masterarn: admin.arn,
      });
      return { secret, username, password };
    }
    const userOf = async (username: string) =>
      parseAclUser(await server.command('ACL', 'GETUSER', username));
    describeStrategyConformance(
      'redis alternating-users',
      redisHarness({
        server: () => server,
        env: ENV,
        createStrategy: () => redisStrategy(ENV, admin),
        seed: async () => (await seedUser()).secret,
      }),
    );

    it('alternates app ⇄ app_clone; the clone has exactly the rules of the current user and only its own password; AWSPREVIOUS keeps working', async () => {
      const { secret, username, password } = await seedUser();
      const rig = rotationRig(redisStrategy(ENV, admin), secret, ENV);
      const seen = [password];
      const expected = ['_clone', ''].map((suffix) => `${username}${suffix}`);
      for (const name of [...expected, ...expected]) {
        await rig.rotate();
        const current = rig.current() as { username: string; password: string };
        const previous = rig.previous() as { username: string; password: string };
        seen.push(current.password);
        expect(current.username).toBe(name);
        expect(await server.canLogin(current.username, current.password)).toBe(true);
        expect(await server.canLogin(previous.username, previous.password)).toBe(true);
        const source = await userOf(previous.username);
        const clone = await userOf(current.username);
        expect(clone?.passwords).toEqual([aclPasswordHash(current.password)]);
        expect(clone?.flags).toEqual(source?.flags);
        expect(clone?.commands).toBe(source?.commands);
        expect(clone?.keys).toBe(source?.keys);
        expect(clone?.channels).toBe(source?.channels);
        expect(clone?.selectors).toEqual(source?.selectors);
        expect(clone?.selectors).toHaveLength(2);
        expect(await server.readAclFile()).toContain(`user ${current.username} on`);
      }
      // Two generations back: the password was replaced when the user was rewritten.
      expect(await server.canLogin(username, password)).toBe(false);
      logs.assertNoneContain([...seen, ...seen.map(aclPasswordHash), server.admin.password]);
    });

    it("carries the current user's rule changes over to the clone at the next rotation", async () => {
      const { secret, username } = await seedUser(['~a:*', '-@all', '+get', '+ping']);
      const rig = rotationRig(redisStrategy(ENV, admin), secret, ENV);
      await rig.rotate();
      await server.command('ACL', 'SETUSER', `${username}_clone`, '~b:*', '+set');
      await rig.rotate();
      const user = await userOf(username);
      expect(user?.keys).toBe('~a:* ~b:*');
      expect(user?.commands).toContain('+set');
    });

    it('a user with nopass: the clone still needs its password', async () => {
      const username = `open_${randomSuffix()}`;
      await server.command('ACL', 'SETUSER', username, 'reset', 'on', 'nopass', '~*', '+@all');
      const rig = rotationRig(
        redisStrategy(ENV, admin),
        JSON.stringify({
          host: server.host,
          port: server.port,
          username,
          password: randomPassword(),
          masterarn: admin.arn,
        }),
        ENV,
      );
      await rig.rotate();
      const current = rig.current() as { username: string; password: string };
      expect((await userOf(current.username))?.flags).not.toContain('nopass');
      expect(await server.canLogin(current.username, randomPassword())).toBe(false);
      expect(await server.canLogin(current.username, current.password)).toBe(true);
    });

    it('refuses to act as admin when the current value does not log in (confused deputy)', async () => {
      const { secret, username } = await seedUser();
      const rig = rotationRig(
        redisStrategy(ENV, admin),
        JSON.stringify({ ...JSON.parse(secret), password: randomPassword() }),
        ENV,
      );
      const token = rig.sm.startRotation();
      await rig.run('createSecret', token);
      const error = await rig.run('setSecret', token).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CredentialRejectedError);
      expect((error as Error).message).toMatch(/refusing to act as admin/);
      expect(await userOf(`${username}_clone`)).toBeUndefined();
    });

    it('refuses a secret without masterarn in alternating mode, naming the field', async () => {
      const { secret } = await seedUser();
      const { masterarn: _, ...rest } = JSON.parse(secret) as Record<string, unknown>;
      const rig = rotationRig(redisStrategy(ENV, admin), JSON.stringify(rest), ENV);
      const token = rig.sm.startRotation();
      await expect(rig.run('createSecret', token)).rejects.toThrow(/"masterarn" is missing/);
    });
  },
);
