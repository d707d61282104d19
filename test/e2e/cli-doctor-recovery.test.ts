import { GetSecretValueCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createDefaultRegistry,
  EXAMPLE_FUNCTION_NAME,
} from '../../local/secrets-manager/defaultRegistry.js';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../../local/secrets-manager/index.js';
import { scriptedRotationFunction } from '../helpers/localSecretsManager.js';
import {
  CLI_TEST_TIMEOUT_MS,
  closedPort,
  createSecret,
  holder,
  randomValue,
  runCli,
  stagesOf,
} from './cli-harness.js';

const FAIL_SET = 'rotator-fail-set';
const FAIL_CREATE_ONCE = 'rotator-fail-create-once';

interface Finding {
  id: string;
  severity: string;
  title: string;
  fix?: string;
  detail?: string;
}

describe('rotator CLI: doctor, unstick and rollback against the local twin', {
  timeout: CLI_TEST_TIMEOUT_MS,
}, () => {
  let twin: LocalSecretsManager;
  const printedNever: string[] = [];

  beforeAll(async () => {
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'WARN');
    twin = await startLocalSecretsManager({
      port: 0,
      registry: async (endpoint) => {
        const registry = await createDefaultRegistry(endpoint);
        const newValue = () => {
          const password = randomValue();
          printedNever.push(password);
          return JSON.stringify({ username: 'svc', password });
        };
        registry.set(
          FAIL_SET,
          scriptedRotationFunction(endpoint.client, {
            newValue,
            failAt: { step: 'setSecret', message: 'setSecret refused' },
          }).fn,
        );
        registry.set(
          FAIL_CREATE_ONCE,
          scriptedRotationFunction(endpoint.client, {
            newValue,
            failAt: { step: 'createSecret', message: 'no route to Secrets Manager', times: 1 },
          }).fn,
        );
        return registry;
      },
    });
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await twin?.close();
  });

  function password(): string {
    const value = randomValue();
    printedNever.push(value);
    return value;
  }

  function expectNoSecretIn(text: string): void {
    for (const value of printedNever)
      expect(text.includes(value), 'a secret value was printed').toBe(false);
  }

  /** Starts a rotation through the SDK and waits for it to end (it fails with these functions). */
  async function failRotation(secretId: string): Promise<string> {
    const { VersionId } = await twin.client.send(new RotateSecretCommand({ SecretId: secretId }));
    await twin.rotations.waitFor(secretId);
    return VersionId ?? '';
  }

  async function doctor(
    secret: string,
  ): Promise<{ code: number; findings: Finding[]; text: string }> {
    const json = await runCli(twin, ['doctor', secret, '--json', '--connect-timeout-ms', '1000']);
    const text = await runCli(twin, ['doctor', secret, '--connect-timeout-ms', '1000']);
    expect(text.code).toBe(json.code);
    expectNoSecretIn(json.stdout + json.stderr + text.stdout + text.stderr);
    return {
      code: json.code,
      findings: (JSON.parse(json.stdout) as { findings: Finding[] }).findings,
      text: text.stdout,
    };
  }

  describe('doctor', () => {
    it('explains that rotation is disabled and no rotator is set, with the fixing command', async () => {
      const { name } = await createSecret(twin, { username: 'app', password: password() });
      const { code, findings, text } = await doctor(name);
      expect(code).toBe(1);
      const ids = findings.map((f) => f.id);
      expect(ids).toEqual(expect.arrayContaining(['rotation-disabled', 'no-rotator']));
      expect(findings.find((f) => f.id === 'rotation-disabled')?.fix).toContain(
        `aws secretsmanager rotate-secret --secret-id ${name}`,
      );
      expect(text).toContain('✗ Rotation is disabled');
      expect(text).toContain('Rotation is blocked or will fail');
    });

    it('reports a rotation left pending with the failed step and the unstick command', async () => {
      const { name } = await createSecret(
        twin,
        { username: 'app', password: password() },
        FAIL_SET,
      );
      const versionId = await failRotation(name);
      const { code, findings, text } = await doctor(name);
      expect(code).toBe(1);
      const pending = findings.find((f) => f.id === 'pending-left-behind');
      expect(pending?.severity).toBe('error');
      expect(pending?.title).toContain(versionId.slice(0, 8));
      expect(pending?.title).toContain('It failed at setSecret');
      expect(pending?.title).toContain('Error: setSecret refused');
      // Only the probing command: a blind label removal can lock clients out.
      expect(pending?.fix).toBe(`npx rotator unstick ${name} --endpoint-url ${twin.url}`);
      expect(pending?.detail).toContain('Do not just remove AWSPENDING');
      expect(text).toMatch(/created (<1|\d+)s ago/);
    });

    it('names the fields a database secret lacks, never their values', async () => {
      const { name } = await createSecret(
        twin,
        { engine: 'postgres', username: 'app', dbname: 'orders' },
        'rotator-postgres',
      );
      const { code, findings } = await doctor(name);
      expect(code).toBe(1);
      const missing = findings.find((f) => f.id === 'fields-missing');
      expect(missing?.title).toBe(
        'The AWSCURRENT value lacks what the postgres rotator needs: host is missing from the AWSCURRENT value, password is missing from the AWSCURRENT value.',
      );
    });

    it('says when the database is unreachable from here, that Lambda checks were skipped, and warns about the password policy', async () => {
      const port = await closedPort();
      const { name } = await createSecret(
        twin,
        { engine: 'mysql', host: '127.0.0.1', port, username: 'app', password: password() },
        'rotator-mysql',
      );
      const { code, findings, text } = await doctor(name);
      const byId = new Map(findings.map((f) => [f.id, f]));
      expect(byId.get('target-unreachable')?.title).toBe(
        `Cannot reach the database at 127.0.0.1:${port} from where this CLI runs (ECONNREFUSED).`,
      );
      expect(byId.get('lambda-checks-skipped')?.severity).toBe('info');
      // AWS's MySQL default still allows % ; & = + and friends.
      expect(byId.get('password-policy-unsafe-characters')?.title).toContain('%');
      expect(byId.get('password-policy-unsafe-characters')?.fix).toContain(
        'sam deploy --parameter-overrides',
      );
      expect(byId.get('fields')?.severity).toBe('ok');
      expect(code, 'warnings alone do not fail doctor').toBe(0);
      expect(text).toContain('No blocking problem found');
    });
  });

  describe('rotate --check', () => {
    it('runs the doctor first: rotates a healthy secret, refuses one that doctor blocks', async () => {
      const healthy = await createSecret(
        twin,
        { username: 'app', password: password() },
        EXAMPLE_FUNCTION_NAME,
      );
      const ok = await runCli(twin, [
        'rotate',
        healthy.name,
        '--check',
        '--wait',
        '--poll-ms',
        '100',
      ]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toContain('Pre-flight checks passed');
      expect(ok.stdout).toContain('Rotated:');

      const stuck = await createSecret(twin, { username: 'app', password: password() }, FAIL_SET);
      await failRotation(stuck.name);
      const refused = await runCli(twin, ['rotate', stuck.name, '--check', '--json']);
      expect(refused.code).toBe(1);
      const report = JSON.parse(refused.stdout) as { outcome: string; findings: Finding[] };
      expect(report.outcome).toBe('not-started');
      expect(report.findings.map((f) => f.id)).toEqual(['pending-left-behind']);
      expectNoSecretIn(ok.stdout + ok.stderr + refused.stdout + refused.stderr);
    });
  });

  describe('unstick', () => {
    it('has nothing to do without a pending rotation', async () => {
      const { name } = await createSecret(
        twin,
        { username: 'app', password: password() },
        EXAMPLE_FUNCTION_NAME,
      );
      const run = await runCli(twin, ['unstick', name]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('no rotation is pending');
    });

    it('plans to drop AWSPENDING from a version createSecret never filled, applies only with --apply, and rotation works again', async () => {
      const { name } = await createSecret(
        twin,
        { username: 'app', password: password() },
        FAIL_CREATE_ONCE,
      );
      const versionId = await failRotation(name);

      const plan = await runCli(twin, ['unstick', name]);
      expect(plan.code).toBe(0);
      expect(plan.stdout).toContain('no value stored (createSecret never completed)');
      expect(plan.stdout).toContain(
        `aws secretsmanager update-secret-version-stage --secret-id ${name} --version-stage AWSPENDING --remove-from-version-id ${versionId}`,
      );
      expect(plan.stdout).toContain('Run again with --apply');
      expect(
        holder(await stagesOf(twin.client, name), 'AWSPENDING'),
        'the plan changed nothing',
      ).toBe(versionId);

      const applied = await runCli(twin, ['unstick', name, '--apply', '--json']);
      expect(applied.code).toBe(0);
      expect(JSON.parse(applied.stdout)).toMatchObject({
        applied: true,
        decided: true,
        steps: [{ action: 'remove-pending', versionId }],
      });
      expect(holder(await stagesOf(twin.client, name), 'AWSPENDING')).toBeUndefined();

      const rotate = await runCli(twin, ['rotate', name, '--wait', '--poll-ms', '100']);
      expect(rotate.code, rotate.stderr).toBe(0);
      expectNoSecretIn(plan.stdout + applied.stdout + rotate.stdout + rotate.stderr);
    });

    it('cannot probe an example credential: says so, keeps AWSCURRENT and removes AWSPENDING with --apply', async () => {
      const { name } = await createSecret(
        twin,
        { username: 'app', password: password() },
        FAIL_SET,
      );
      const current = holder(await stagesOf(twin.client, name), 'AWSCURRENT');
      const versionId = await failRotation(name);
      const run = await runCli(twin, ['unstick', name, '--apply']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('failed at setSecret');
      expect(run.stdout).toMatch(/AWSPENDING [0-9a-f]{8} \(svc\): unknown/);
      expect(run.stdout).toContain('Applied:');
      const stages = await stagesOf(twin.client, name);
      expect(holder(stages, 'AWSCURRENT')).toBe(current);
      expect(stages[versionId]).toBeUndefined();
      expectNoSecretIn(run.stdout + run.stderr);
    });
  });

  describe('rollback', () => {
    it('moves AWSCURRENT back for an example secret, and --dry-run changes nothing', async () => {
      const { name } = await createSecret(
        twin,
        { username: 'app', password: password() },
        EXAMPLE_FUNCTION_NAME,
      );
      expect((await runCli(twin, ['rotate', name, '--wait', '--poll-ms', '100'])).code).toBe(0);
      const before = await stagesOf(twin.client, name);
      const [current, previous] = [holder(before, 'AWSCURRENT'), holder(before, 'AWSPREVIOUS')];

      const dry = await runCli(twin, ['rollback', name, '--dry-run']);
      expect(dry.code).toBe(0);
      expect(dry.stdout).toContain('Would move AWSCURRENT');
      expect(await stagesOf(twin.client, name)).toEqual(before);

      const run = await runCli(twin, ['rollback', name]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain(`Rolled back ${name}`);
      const after = await stagesOf(twin.client, name);
      expect(holder(after, 'AWSCURRENT')).toBe(previous);
      expect(holder(after, 'AWSPREVIOUS')).toBe(current);
      const value = await twin.client.send(new GetSecretValueCommand({ SecretId: name }));
      expect(value.VersionId).toBe(previous);
      expectNoSecretIn(dry.stdout + run.stdout);
    });

    it('refuses while a rotation is pending, and where there is no previous version', async () => {
      const stuck = await createSecret(twin, { username: 'app', password: password() }, FAIL_SET);
      await failRotation(stuck.name);
      const pending = await runCli(twin, ['rollback', stuck.name]);
      expect(pending.code).toBe(1);
      expect(pending.stderr).toContain('Refusing to roll back');
      expect(pending.stderr).toContain(`fix: npx rotator unstick ${stuck.name}`);

      const fresh = await createSecret(
        twin,
        { username: 'app', password: password() },
        EXAMPLE_FUNCTION_NAME,
      );
      const none = await runCli(twin, ['rollback', fresh.name, '--json']);
      expect(none.code).toBe(1);
      expect(JSON.parse(none.stdout).error).toContain('there is no AWSPREVIOUS version');
    });
  });

  it('fails cleanly for a secret that does not exist', async () => {
    const run = await runCli(twin, ['doctor', 'no/such/secret']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Secret no/such/secret does not exist');
  });
});
