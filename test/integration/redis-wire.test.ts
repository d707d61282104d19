import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aclPasswordHash } from '../../shared/strategies/redis/hashing.js';
import { captureLogs } from '../helpers/captureLogs.js';
import { randomPassword, randomSuffix } from '../helpers/credentials.js';
import { adminSecretFixture, redisStrategy } from '../helpers/redisKind.js';
import { type RotationRig, rotationRig } from '../helpers/rotationRig.js';
import {
  type RedisMonitor,
  type RedisServer,
  redisSupport,
  startRedis,
} from '../helpers/servers/redis.js';
import { type RecordingProxy, recordingProxy } from '../helpers/servers/redisWire.js';

const support = redisSupport();
const SINGLE = { ROTATION_MODE: 'single-user', DEFAULT_SSL_MODE: 'disable' };
const ALTERNATING = { ROTATION_MODE: 'alternating-users', DEFAULT_SSL_MODE: 'disable' };
const RULES = ['~app:*', '&*', '-@all', '+@read', '+@write', '+ping'];
const HASH_RULE = /^[#!][0-9a-f]{64}$/;

/** Every password any version of the rig's secret ever held. */
function passwordsOf(rig: RotationRig): string[] {
  return [...rig.sm.versions.values()].flatMap((version) =>
    version.value ? [(JSON.parse(version.value) as { password: string }).password] : [],
  );
}

describe.skipIf(!support.available)(
  `Redis rotations never put a password on the wire but in AUTH (real server) ${support.reason}`,
  () => {
    let server: RedisServer;
    let monitor: RedisMonitor;
    let proxy: RecordingProxy;
    const rigs: RotationRig[] = [];
    const logs = captureLogs();

    beforeAll(async () => {
      server = await startRedis();
      proxy = await recordingProxy(server.host, server.port);
      monitor = await server.monitor();
    });
    afterAll(async () => {
      await monitor?.stop();
      await proxy?.close();
      await server?.stop();
    });

    async function rig(env: NodeJS.ProcessEnv, options: { admin: boolean; rules: string[] }) {
      const admin = adminSecretFixture(
        JSON.stringify({ username: server.admin.username, password: server.admin.password }),
      );
      const username = `app_${randomSuffix()}`;
      const password = randomPassword();
      await server.createUser(username, password, options.rules);
      const secret = JSON.stringify({
        host: server.host,
        // Through the recording proxy: the admin inherits host and port from here.
        port: proxy.port,
        username,
        password,
        ...(options.admin ? { masterarn: admin.arn } : {}),
      });
      const created = rotationRig(redisStrategy(env, admin), secret, env);
      rigs.push(created);
      return created;
    }

    it('MONITOR and the recorded client stream see passwords only as AUTH arguments, ACL SETUSER only with hashes', async () => {
      const single = await rig(SINGLE, { admin: true, rules: RULES });
      const self = await rig(SINGLE, {
        admin: false,
        rules: [...RULES, '+acl|setuser', '+acl|getuser', '+acl|save'],
      });
      const alternating = await rig(ALTERNATING, { admin: true, rules: RULES });
      for (const r of [single, single, self, self, alternating, alternating, alternating]) {
        await r.rotate();
      }
      // MONITOR delivers asynchronously: wait for this PING to come back through it.
      const marker = `marker-${randomSuffix()}`;
      await server.command('ECHO', marker);
      await expect
        .poll(() => monitor.commands.some((c) => c.args.includes(marker)), { timeout: 5_000 })
        .toBe(true);

      const passwords = [...rigs.flatMap(passwordsOf), server.admin.password];
      expect(passwords.length).toBe(3 + 7 + 1);

      // MONITOR: every command it saw, none with a password in any argument. Redis feeds no
      // admin command (ACL, CONFIG) to MONITOR and redacts AUTH's arguments, so the recorded
      // client stream below is what proves ACL SETUSER carries only hashes.
      for (const command of monitor.commands) {
        for (const arg of command.args) {
          for (const password of passwords) expect(arg.includes(password)).toBe(false);
        }
      }
      const auths = monitor.commands.filter((c) => c.args[0]?.toUpperCase() === 'AUTH');
      expect(auths.length).toBeGreaterThan(0);
      for (const auth of auths) expect(auth.args.slice(1)).toEqual(['(redacted)', '(redacted)']);

      // The wire: passwords only as AUTH's password argument; ACL SETUSER only with hashes.
      const wire = proxy.commands;
      for (const command of wire) {
        const name = command[0]?.toUpperCase();
        command.forEach((arg, index) => {
          const isAuthPassword = name === 'AUTH' && index === 2;
          if (!isAuthPassword) {
            for (const password of passwords) expect(arg.includes(password)).toBe(false);
          }
        });
      }
      const setusers = wire.filter(
        (c) => c[0]?.toUpperCase() === 'ACL' && c[1]?.toUpperCase() === 'SETUSER',
      );
      expect(setusers.length).toBeGreaterThanOrEqual(7);
      const hashArgs = setusers.flatMap((c) => c.filter((arg) => /^[#!>< ]/.test(arg)));
      for (const arg of hashArgs) expect(arg).toMatch(HASH_RULE);
      const added = new Set(hashArgs.filter((a) => a.startsWith('#')).map((a) => a.slice(1)));
      for (const r of rigs) {
        const current = r.current() as { password: string };
        expect(added.has(aclPasswordHash(current.password))).toBe(true);
      }
      logs.assertNoneContain([...passwords, ...passwords.map(aclPasswordHash)]);

      const byName = (commands: readonly (readonly string[])[]) => {
        const counts: Record<string, number> = {};
        for (const c of commands) {
          const name = [
            c[0],
            c[0]?.toUpperCase() === 'ACL' || c[0]?.toUpperCase() === 'CONFIG' ? c[1] : undefined,
          ]
            .filter(Boolean)
            .join(' ')
            .toUpperCase();
          counts[name] = (counts[name] ?? 0) + 1;
        }
        return counts;
      };
      summary = {
        monitor: {
          total: monitor.commands.length,
          byName: byName(monitor.commands.map((c) => c.args)),
        },
        wire: { total: wire.length, byName: byName(wire), hashArguments: hashArgs.length },
        passwordsChecked: passwords.length,
      };
    });

    let summary: unknown;
    afterAll(() => {
      if (summary) console.info(`redis wire summary: ${JSON.stringify(summary)}`);
    });
  },
);
