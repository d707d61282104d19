import { PutSecretValueCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../../local/secrets-manager/index.js';
import { randomPassword, randomSuffix } from '../helpers/credentials.js';
import { scriptedRotationFunction } from '../helpers/localSecretsManager.js';
import { POSTGRES, type PostgresServer, startPostgres } from '../helpers/servers/postgres.js';
import { type ServerTls, serverSupport } from '../helpers/servers/support.js';
import { selfSignedCertificate } from '../helpers/servers/tlsCertificate.js';
import { CLI_TEST_TIMEOUT_MS, createSecret, holder, runCli, stagesOf } from './cli-harness.js';

const support = serverSupport(POSTGRES);
const FAIL_TEST = 'rotator-postgres-fail-test';

interface Finding {
  id: string;
  severity: string;
  title: string;
}

describe.skipIf(!support.available)(
  'rotator CLI against a real PostgreSQL (password auth, TLS)',
  { timeout: CLI_TEST_TIMEOUT_MS },
  () => {
    let pg: PostgresServer;
    let tls: ServerTls;
    let twin: LocalSecretsManager;
    /** The value the scripted function stores at createSecret next. */
    let nextPending = '';
    const printedNever: string[] = [];

    beforeAll(async () => {
      vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'WARN');
      tls = await selfSignedCertificate();
      pg = await startPostgres({ tls });
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
      await pg?.stop();
    });

    function secret(username: string, password: string, extra: Record<string, unknown> = {}) {
      printedNever.push(password);
      return {
        engine: 'postgres',
        host: pg.host,
        port: pg.port,
        dbname: 'postgres',
        username,
        password,
        sslMode: 'require',
        ...extra,
      };
    }

    async function createRole(password: string): Promise<string> {
      const username = `app_${randomSuffix()}`;
      // Random letters and digits: safe to inline in this test-only DDL.
      await pg.query(`CREATE ROLE ${username} LOGIN PASSWORD '${password}'`);
      return username;
    }

    function expectNoSecretIn(text: string): void {
      for (const value of printedNever)
        expect(text.includes(value), 'a secret value was printed').toBe(false);
    }

    /** A rotation that stored `pendingValue` and then failed at testSecret. */
    async function failRotation(
      secretId: string,
      pendingValue: Record<string, unknown>,
    ): Promise<string> {
      nextPending = JSON.stringify(pendingValue);
      const { VersionId } = await twin.client.send(new RotateSecretCommand({ SecretId: secretId }));
      await twin.rotations.waitFor(secretId);
      return VersionId ?? '';
    }

    it('doctor: reachable, TLS that would not verify (self-signed), then verified with sslCa', async () => {
      const pw = randomPassword();
      const user = await createRole(pw);
      const { sslMode: _drop, ...noTlsFields } = secret(user, pw);
      const unverified = await createSecret(twin, noTlsFields, 'rotator-postgres');
      const run = await runCli(twin, ['doctor', unverified.name, '--json']);
      const findings = (JSON.parse(run.stdout) as { findings: Finding[] }).findings;
      const byId = new Map(findings.map((f) => [f.id, f]));
      expect(byId.get('target-reachable')?.severity).toBe('ok');
      expect(byId.get('tls-unverified')).toMatchObject({ severity: 'error' });
      expect(byId.get('tls-unverified')?.title).toMatch(/SELF_SIGNED/);
      expect(run.code).toBe(1);

      const verified = await createSecret(
        twin,
        { ...noTlsFields, sslCa: tls.cert },
        'rotator-postgres',
      );
      const ok = await runCli(twin, ['doctor', verified.name, '--json']);
      const okFindings = (JSON.parse(ok.stdout) as { findings: Finding[] }).findings;
      expect(okFindings.find((f) => f.id === 'tls-verified')?.severity).toBe('ok');
      expect(okFindings.filter((f) => f.severity === 'error')).toEqual([]);
      expect(ok.code).toBe(0);
      expectNoSecretIn(run.stdout + ok.stdout);
    });

    it('unstick: the database already uses the pending password → plan finishes the rotation; --apply promotes it', async () => {
      const [oldPw, newPw] = [randomPassword(), randomPassword()];
      const user = await createRole(oldPw);
      const { name } = await createSecret(twin, secret(user, oldPw), FAIL_TEST);
      const versionId = await failRotation(name, secret(user, newPw));
      // setSecret had run: the database now has the new password.
      await pg.query(`ALTER ROLE ${user} PASSWORD '${newPw}'`);

      const plan = await runCli(twin, ['unstick', name]);
      expect(plan.code, plan.stderr).toBe(0);
      expect(plan.stdout).toMatch(
        new RegExp(
          `AWSCURRENT [0-9a-f]{8} \\(${user}\\): the database REJECTS this login \\(28P01\\)`,
        ),
      );
      expect(plan.stdout).toMatch(
        new RegExp(
          `AWSPENDING ${versionId.slice(0, 8)} \\(${user}\\): the database ACCEPTS this login`,
        ),
      );
      expect(plan.stdout).toContain('finishing the rotation');
      expect(plan.stdout).toContain(`--version-stage AWSCURRENT --move-to-version-id ${versionId}`);
      expect(holder(await stagesOf(twin.client, name), 'AWSCURRENT')).not.toBe(versionId);

      const applied = await runCli(twin, ['unstick', name, '--apply']);
      expect(applied.code, applied.stderr).toBe(0);
      const stages = await stagesOf(twin.client, name);
      expect(holder(stages, 'AWSCURRENT')).toBe(versionId);
      expect(holder(stages, 'AWSPENDING')).toBeUndefined();
      expect(await pg.canLogin(user, newPw)).toBe(true);
      expectNoSecretIn(plan.stdout + plan.stderr + applied.stdout + applied.stderr);
    });

    it('unstick: the current password still works → plan removes AWSPENDING from the dead version', async () => {
      const [oldPw, newPw] = [randomPassword(), randomPassword()];
      const user = await createRole(oldPw);
      const { name } = await createSecret(twin, secret(user, oldPw), FAIL_TEST);
      const current = holder(await stagesOf(twin.client, name), 'AWSCURRENT');
      const versionId = await failRotation(name, secret(user, newPw));

      const run = await runCli(twin, ['unstick', name, '--apply', '--json']);
      expect(run.code, run.stderr).toBe(0);
      const plan = JSON.parse(run.stdout) as {
        steps: unknown[];
        probes: { label: string; outcome: string }[];
        applied: boolean;
      };
      expect(plan.probes.map((p) => [p.label, p.outcome])).toEqual([
        ['AWSCURRENT', 'accepted'],
        ['AWSPENDING', 'rejected'],
      ]);
      expect(plan.steps).toEqual([{ action: 'remove-pending', versionId }]);
      expect(plan.applied).toBe(true);
      const stages = await stagesOf(twin.client, name);
      expect(holder(stages, 'AWSCURRENT')).toBe(current);
      expect(holder(stages, 'AWSPENDING')).toBeUndefined();
      expectNoSecretIn(run.stdout + run.stderr);
    });

    it('unstick: neither password works → no plan, exit 1, explains the manual reset', async () => {
      const user = await createRole(randomPassword());
      const { name } = await createSecret(twin, secret(user, randomPassword()), FAIL_TEST);
      await failRotation(name, secret(user, randomPassword()));
      const run = await runCli(twin, ['unstick', name, '--apply']);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain('Neither the current nor the pending login works');
      expect(
        holder(await stagesOf(twin.client, name), 'AWSPENDING'),
        '--apply did nothing',
      ).toBeDefined();
      expectNoSecretIn(run.stdout + run.stderr);
    });

    it('rollback: refuses after a single-user rotation, whose previous password is dead (lock-out)', async () => {
      const [oldPw, newPw] = [randomPassword(), randomPassword()];
      const user = await createRole(oldPw);
      const { name } = await createSecret(twin, secret(user, oldPw));
      await twin.client.send(
        new PutSecretValueCommand({
          SecretId: name,
          SecretString: JSON.stringify(secret(user, newPw)),
        }),
      );
      await pg.query(`ALTER ROLE ${user} PASSWORD '${newPw}'`);
      const before = await stagesOf(twin.client, name);

      const run = await runCli(twin, ['rollback', name]);

      expect(run.code).toBe(1);
      expect(run.stdout).toContain('the database REJECTS this login');
      expect(run.stderr).toContain(`Refusing to roll back ${name}`);
      expect(run.stderr).toContain(`single-user rotation changed it`);
      expect(run.stderr).toContain('lock them out');
      expect(await stagesOf(twin.client, name)).toEqual(before);
      expectNoSecretIn(run.stdout + run.stderr);
    });

    it('rollback: alternating users, the previous user still logs in → AWSCURRENT goes back', async () => {
      const [pwA, pwB] = [randomPassword(), randomPassword()];
      const userA = await createRole(pwA);
      const userB = await createRole(pwB);
      const { name } = await createSecret(twin, secret(userA, pwA));
      await twin.client.send(
        new PutSecretValueCommand({
          SecretId: name,
          SecretString: JSON.stringify(secret(userB, pwB)),
        }),
      );
      const before = await stagesOf(twin.client, name);

      const run = await runCli(twin, ['rollback', name, '--json']);

      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({
        outcome: 'rolled-back',
        reason: `the database accepts the previous login (${userA})`,
      });
      const after = await stagesOf(twin.client, name);
      expect(holder(after, 'AWSCURRENT')).toBe(holder(before, 'AWSPREVIOUS'));
      expect(holder(after, 'AWSPREVIOUS')).toBe(holder(before, 'AWSCURRENT'));
      expectNoSecretIn(run.stdout + run.stderr);
    });
  },
);
