import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
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
  createSecret,
  holder,
  randomValue,
  runCli,
  stagesOf,
} from './cli-harness.js';

const FAILING = 'rotator-failing';

describe('rotator CLI: rotate and status against the local twin', {
  timeout: CLI_TEST_TIMEOUT_MS,
}, () => {
  let twin: LocalSecretsManager;
  const secretValues: string[] = [];

  beforeAll(async () => {
    // The example function logs every step at INFO; its logs are not under test here.
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'WARN');
    twin = await startLocalSecretsManager({
      port: 0,
      registry: async (endpoint) => {
        const registry = await createDefaultRegistry(endpoint);
        const failing = scriptedRotationFunction(endpoint.client, {
          newValue: () => {
            const value = JSON.stringify({ username: 'svc', password: randomValue() });
            secretValues.push(value);
            return value;
          },
          failAt: { step: 'setSecret', message: 'the target refused the new credential' },
        });
        registry.set(FAILING, failing.fn);
        return registry;
      },
    });
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await twin?.close();
  });

  /** Every value stored in a secret, so we can prove none reached the output. */
  async function remember(secretId: string): Promise<void> {
    for (const versionId of Object.keys(await stagesOf(twin.client, secretId))) {
      const value = await twin.client
        .send(new GetSecretValueCommand({ SecretId: secretId, VersionId: versionId }))
        .catch(() => undefined);
      if (value?.SecretString) {
        secretValues.push(value.SecretString);
        const parsed = JSON.parse(value.SecretString) as { password?: string };
        if (parsed.password) secretValues.push(parsed.password);
      }
    }
  }

  function expectNoSecretIn(text: string): void {
    for (const value of secretValues)
      expect(text.includes(value), 'a secret value was printed').toBe(false);
  }

  it('prints usage with --help and exits 2 on an unknown command', async () => {
    const help = await runCli(twin, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: rotator <command>');
    const bad = await runCli(twin, ['frobnicate']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown command "frobnicate"');
  });

  it('rotate --wait follows a rotation to AWSCURRENT and exits 0', async () => {
    const password = randomValue();
    secretValues.push(password);
    const { name } = await createSecret(twin, { username: 'app', password }, EXAMPLE_FUNCTION_NAME);
    const before = holder(await stagesOf(twin.client, name), 'AWSCURRENT');

    const run = await runCli(twin, ['rotate', name, '--wait', '--poll-ms', '100']);

    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Rotation started');
    expect(run.stdout).toMatch(/✓ createSecret {2}✓ setSecret {2}✓ testSecret {2}✓ finishSecret/);
    expect(run.stdout).toMatch(/Rotated: version [0-9a-f]{8} is AWSCURRENT/);
    const after = await stagesOf(twin.client, name);
    expect(holder(after, 'AWSCURRENT')).not.toBe(before);
    expect(holder(after, 'AWSPREVIOUS')).toBe(before);
    await remember(name);
    expectNoSecretIn(run.stdout + run.stderr);
  });

  it('rotate --wait --json reports a failed step and exits 1; a second rotate is refused with the way out', async () => {
    const { name } = await createSecret(
      twin,
      { username: 'svc', password: randomValue() },
      FAILING,
    );
    await remember(name);

    const run = await runCli(twin, ['rotate', name, '--wait', '--poll-ms', '100', '--json']);

    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as {
      outcome: string;
      step?: string;
      message?: string;
      versionId: string;
    };
    expect(report).toMatchObject({ outcome: 'failed', step: 'setSecret' });
    expect(report.message).toContain('the target refused the new credential');
    expect(holder(await stagesOf(twin.client, name), 'AWSPENDING')).toBe(report.versionId);

    const again = await runCli(twin, ['rotate', name]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('a previous rotation');
    expect(again.stderr).toContain(`npx rotator unstick ${name}`);
    await twin.rotations.settled();
    await remember(name);
    expectNoSecretIn(run.stdout + run.stderr + again.stdout + again.stderr);
  });

  it('rotate --wait shows the failed step in plain text', async () => {
    const { name } = await createSecret(
      twin,
      { username: 'svc', password: randomValue() },
      FAILING,
    );
    const run = await runCli(twin, ['rotate', name, '--wait', '--poll-ms', '100']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/✓ createSecret {2}▸ setSecret/);
    expect(run.stderr).toContain('Rotation failed at setSecret');
    expect(run.stderr).toContain(`npx rotator doctor ${name}`);
    await twin.rotations.settled();
  });

  it('status lists rotation-enabled secrets with rotator, schedule and labels, and warns about a pending rotation', async () => {
    const healthy = await createSecret(
      twin,
      { username: 'a', password: randomValue() },
      EXAMPLE_FUNCTION_NAME,
    );
    const stuck = await createSecret(twin, { username: 'b', password: randomValue() }, FAILING);
    const plain = await createSecret(twin, { username: 'c', password: randomValue() });
    expect((await runCli(twin, ['rotate', stuck.name, '--wait', '--poll-ms', '100'])).code).toBe(1);
    await twin.rotations.settled();
    await Promise.all([remember(healthy.name), remember(stuck.name), remember(plain.name)]);

    const run = await runCli(twin, ['status']);

    expect(run.code, 'a pending rotation makes status exit 1').toBe(1);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(
      /^SECRET\s+STATE\s+ROTATOR\s+SCHEDULE\s+LAST ROTATED\s+NEXT ROTATION\s+VERSIONS$/,
    );
    const healthyLine = lines.find((l) => l.startsWith(healthy.name));
    expect(healthyLine).toMatch(new RegExp(`ok\\s+${EXAMPLE_FUNCTION_NAME}\\s+rate\\(30 days\\)`));
    expect(healthyLine).toMatch(/[0-9a-f]{8}:CURRENT/);
    expect(lines.find((l) => l.startsWith(stuck.name))).toMatch(
      /FAILED\s+rotator-failing.*:PENDING/,
    );
    expect(run.stdout, 'secrets without rotation are not listed').not.toContain(plain.name);
    expect(run.stdout).toContain(`! ${stuck.name}: AWSPENDING left on version`);
    expect(run.stdout).toContain('failed at setSecret');

    const json = await runCli(twin, ['status', healthy.name, stuck.name, '--json']);
    const rows = (
      JSON.parse(json.stdout) as {
        secrets: { name: string; state: string; pending?: { step?: string } }[];
      }
    ).secrets;
    expect(rows.map((r) => [r.name, r.state])).toEqual([
      [healthy.name, 'ok'],
      [stuck.name, 'failed'],
    ]);
    expect(rows[1]?.pending?.step).toBe('setSecret');
    const all = await runCli(twin, ['status', '--all']);
    expect(all.stdout).toContain(plain.name);
    expectNoSecretIn(run.stdout + json.stdout + all.stdout);
  });
});
