import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialRejectedError } from '../../shared/errors.js';
import { aclPasswordHash } from '../../shared/strategies/redis/hashing.js';
import { randomPassword, randomSuffix } from '../helpers/credentials.js';
import { adminSecretFixture, redisStrategy } from '../helpers/redisKind.js';
import { rotationRig } from '../helpers/rotationRig.js';
import { type RedisServer, redisSupport, startRedis } from '../helpers/servers/redis.js';

const support = redisSupport();
const ENV = { ROTATION_MODE: 'single-user', DEFAULT_SSL_MODE: 'disable' };
const APP_RULES = ['~app:*', '-@all', '+@read', '+@write', '+ping'];

describe.skipIf(!support.available)(
  `Review: Redis single-user crash safety (real server) ${support.reason}`,
  () => {
    let server: RedisServer;
    beforeAll(async () => {
      server = await startRedis();
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('finishSecret whose ACL SAVE failed after removing the old hash: the retried finishSecret saves the ACL file, so a reload does not bring the removed password back', async () => {
      // Prepare: one full rotation (AWSCURRENT C1, AWSPREVIOUS C0), then a second up to testSecret.
      const admin = adminSecretFixture(
        JSON.stringify({ username: server.admin.username, password: server.admin.password }),
      );
      const username = `app_${randomSuffix()}`;
      const password = randomPassword();
      await server.createUser(username, password, APP_RULES);
      const rig = rotationRig(
        redisStrategy(ENV, admin),
        JSON.stringify({
          host: server.host,
          port: server.port,
          username,
          password,
          masterarn: admin.arn,
        }),
        ENV,
      );
      await rig.rotate();
      const token = rig.sm.startRotation();
      await rig.run('createSecret', token);
      await rig.run('setSecret', token);
      await rig.run('testSecret', token);

      // Act: ACL SAVE fails once during finishSecret (after the hash of C0 was removed in
      // memory), then Secrets Manager retries finishSecret.
      await server.command('ACL', 'SETUSER', server.admin.username, '-acl|save');
      await expect(rig.run('finishSecret', token)).rejects.toThrow();
      await server.command('ACL', 'SETUSER', server.admin.username, '+acl|save');
      await rig.run('finishSecret', token);

      // Assess: the file the server restarts from holds only AWSCURRENT and AWSPREVIOUS.
      const aclFile = await server.readAclFile();
      expect(aclFile).not.toContain(`#${aclPasswordHash(password)}`);
      await server.command('ACL', 'LOAD');
      expect(await server.canLogin(username, password)).toBe(false);
    });

    it('a user managing its own passwords without +acl|save or +config|get, on a server with an ACL file: a rotation that completes leaves AWSCURRENT in the file the server restarts from', async () => {
      // docs/redis.md: such a user "fails setSecret with a CredentialRejectedError that names
      // the missing rights"; the code instead warns and completes the rotation.
      const username = `app_${randomSuffix()}`;
      const password = randomPassword();
      await server.createUser(username, password, [...APP_RULES, '+acl|setuser', '+acl|getuser']);
      const rig = rotationRig(
        redisStrategy(ENV),
        JSON.stringify({ host: server.host, port: server.port, username, password }),
        ENV,
      );
      // Two rotations: AWSCURRENT and AWSPREVIOUS both differ from the password in the file.
      // Refusing to rotate (the documented behaviour) is an acceptable outcome too.
      const refused = await rig
        .rotate()
        .then(() => rig.rotate())
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      if (refused !== undefined) {
        expect(refused).toBeInstanceOf(CredentialRejectedError);
        expect(
          await server.canLogin(username, (rig.current() as { password: string }).password),
        ).toBe(true);
        return;
      }
      const current = rig.current() as { password: string };
      const previous = rig.previous() as { password: string };

      // A restart of Redis reads the ACL file (ACL LOAD does the same without a restart).
      await server.command('ACL', 'LOAD');
      const survivors = [
        await server.canLogin(username, current.password),
        await server.canLogin(username, previous.password),
      ];
      expect(survivors).toContain(true);
    });

    it('a late finishSecret of an earlier rotation (its token is AWSCURRENT) while a newer rotation is past setSecret: the newer AWSPENDING password keeps working', async () => {
      const admin = adminSecretFixture(
        JSON.stringify({ username: server.admin.username, password: server.admin.password }),
      );
      const username = `app_${randomSuffix()}`;
      const password = randomPassword();
      await server.createUser(username, password, APP_RULES);
      const rig = rotationRig(
        redisStrategy(ENV, admin),
        JSON.stringify({
          host: server.host,
          port: server.port,
          username,
          password,
          masterarn: admin.arn,
        }),
        ENV,
      );
      const earlier = await rig.rotate();
      const newer = rig.sm.startRotation();
      await rig.run('createSecret', newer);
      await rig.run('setSecret', newer);
      const pending = JSON.parse(rig.sm.versions.get(newer)?.value as string) as {
        password: string;
      };

      // Act: the earlier rotation's finishSecret arrives again (a retry after its hook failed).
      await rig.run('finishSecret', earlier);

      // Assess: the stage checks protect the newer rotation's AWSPENDING.
      expect(await server.canLogin(username, pending.password)).toBe(true);
      await rig.run('testSecret', newer);
      await rig.run('finishSecret', newer);
    });
  },
);
