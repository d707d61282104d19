import { PutSecretValueCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../../local/secrets-manager/index.js';
import { randomPassword, randomSuffix } from '../helpers/credentials.js';
import { scriptedRotationFunction } from '../helpers/localSecretsManager.js';
import { MARIADB, type MariadbServer, startMariadb } from '../helpers/servers/mariadb.js';
import { type ServerTls, serverSupport } from '../helpers/servers/support.js';
import { selfSignedCertificate } from '../helpers/servers/tlsCertificate.js';
import { CLI_TEST_TIMEOUT_MS, createSecret, holder, runCli, stagesOf } from './cli-harness.js';

const support = serverSupport(MARIADB);
const FAIL_TEST = 'rotator-mysql-fail-test';

interface Finding {
  id: string;
  severity: string;
  title: string;
}

describe.skipIf(!support.available)(
  'rotator CLI against a real MariaDB (TLS negotiated in the MySQL protocol)',
  { timeout: CLI_TEST_TIMEOUT_MS },
  () => {
    let db: MariadbServer;
    let tls: ServerTls;
    let twin: LocalSecretsManager;
    let nextPending = '';
    const printedNever: string[] = [];

    beforeAll(async () => {
      vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'WARN');
      tls = await selfSignedCertificate();
      db = await startMariadb({ tls });
      twin = await startLocalSecretsManager({
        port: 0,
        registry: (endpoint) =>
          new Map([
            [
              FAIL_TEST,
              scriptedRotationFunction(endpoint.client, {
                newValue: () => nextPending,
                failAt: { step: 'testSecret', message: 'testSecret could not log in' },
              }).fn,
            ],
          ]),
      });
    }, 120_000);

    afterAll(async () => {
      vi.unstubAllEnvs();
      await twin?.close();
      await db?.stop();
    });

    function secret(username: string, password: string, extra: Record<string, unknown> = {}) {
      printedNever.push(password);
      return {
        engine: 'mariadb',
        host: db.host,
        port: db.port,
        username,
        password,
        sslMode: 'require',
        ...extra,
      };
    }

    async function createUser(password: string): Promise<string> {
      const username = `app_${randomSuffix()}`;
      await db.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [username, password]);
      return username;
    }

    function expectNoSecretIn(text: string): void {
      for (const value of printedNever)
        expect(text.includes(value), 'a secret value was printed').toBe(false);
    }

    it('doctor: negotiates TLS in the MySQL handshake; self-signed fails verify-full, passes with sslCa', async () => {
      const pw = randomPassword();
      const user = await createUser(pw);
      const { sslMode: _drop, ...plainFields } = secret(user, pw);
      const unverified = await createSecret(twin, plainFields, 'rotator-mysql');
      const run = await runCli(twin, ['doctor', unverified.name, '--json']);
      const byId = new Map(
        (JSON.parse(run.stdout) as { findings: Finding[] }).findings.map((f) => [f.id, f]),
      );
      expect(byId.get('target-reachable')?.severity).toBe('ok');
      expect(byId.get('tls-unverified')?.title).toMatch(/SELF_SIGNED/);
      expect(run.code).toBe(1);

      const verified = await createSecret(
        twin,
        { ...plainFields, sslCa: tls.cert },
        'rotator-mysql',
      );
      const ok = await runCli(twin, ['doctor', verified.name, '--json']);
      const okById = new Map(
        (JSON.parse(ok.stdout) as { findings: Finding[] }).findings.map((f) => [f.id, f]),
      );
      expect(okById.get('tls-verified')?.title).toMatch(
        /TLS verifies for 127\.0\.0\.1 \(TLSv1\.[23]\)/,
      );
      expect(ok.code).toBe(0);
      expectNoSecretIn(run.stdout + ok.stdout);
    });

    it('unstick: promotes a pending password the server already uses', async () => {
      const [oldPw, newPw] = [randomPassword(), randomPassword()];
      const user = await createUser(oldPw);
      const { name } = await createSecret(twin, secret(user, oldPw), FAIL_TEST);
      nextPending = JSON.stringify(secret(user, newPw));
      const { VersionId } = await twin.client.send(new RotateSecretCommand({ SecretId: name }));
      await twin.rotations.waitFor(name);
      await db.query(`ALTER USER ?@'%' IDENTIFIED BY ?`, [user, newPw]);

      const run = await runCli(twin, ['unstick', name, '--apply', '--json']);

      expect(run.code, run.stderr).toBe(0);
      const plan = JSON.parse(run.stdout) as {
        probes: { label: string; outcome: string; detail?: string }[];
        steps: { action: string }[];
      };
      expect(plan.probes.map((p) => [p.label, p.outcome, p.detail])).toEqual([
        ['AWSCURRENT', 'rejected', 'ER_ACCESS_DENIED_ERROR'],
        ['AWSPENDING', 'accepted', undefined],
      ]);
      expect(plan.steps.map((s) => s.action)).toEqual(['promote-pending']);
      expect(holder(await stagesOf(twin.client, name), 'AWSCURRENT')).toBe(VersionId);
      expectNoSecretIn(run.stdout + run.stderr);
    });

    it('rollback: refuses when the previous password is dead', async () => {
      const [oldPw, newPw] = [randomPassword(), randomPassword()];
      const user = await createUser(oldPw);
      const { name } = await createSecret(twin, secret(user, oldPw));
      await twin.client.send(
        new PutSecretValueCommand({
          SecretId: name,
          SecretString: JSON.stringify(secret(user, newPw)),
        }),
      );
      await db.query(`ALTER USER ?@'%' IDENTIFIED BY ?`, [user, newPw]);
      const run = await runCli(twin, ['rollback', name]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('lock them out');
      expectNoSecretIn(run.stdout + run.stderr);
    });
  },
);
