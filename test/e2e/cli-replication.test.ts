import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../../local/secrets-manager/index.js';
import {
  CLI_TEST_TIMEOUT_MS,
  functionArn,
  randomValue,
  runCli,
  uniqueName,
} from './cli-harness.js';

const PRIMARY = 'us-east-1';
const FAILING = 'eu-west-1';
const HEALTHY = 'ap-southeast-2';

describe('rotator CLI: status and doctor on a multi-Region secret', {
  timeout: CLI_TEST_TIMEOUT_MS,
}, () => {
  let twin: LocalSecretsManager;
  let name: string;

  beforeAll(async () => {
    twin = await startLocalSecretsManager({ port: 0, region: PRIMARY });
    name = uniqueName('replicated');
    // A secret of the same name in eu-west-1 makes that replica fail, as on AWS.
    const there = twin.newClient(FAILING);
    await there.send(new CreateSecretCommand({ Name: name, SecretString: randomValue() }));
    there.destroy();
    const created = await twin.client.send(
      new CreateSecretCommand({
        Name: name,
        SecretString: JSON.stringify({ username: 'svc', password: randomValue() }),
        AddReplicaRegions: [{ Region: FAILING }, { Region: HEALTHY }],
      }),
    );
    twin.store.configureRotation(created.ARN ?? name, functionArn(twin, 'rotator-example'), {
      AutomaticallyAfterDays: 30,
    });
    await twin.persist();
  });

  afterAll(async () => {
    await twin?.close();
  });

  it('status shows each replica Region and warns on the failed one (exit 1)', async () => {
    // Act
    const table = await runCli(twin, ['status', name]);
    const json = await runCli(twin, ['--json', 'status']);
    // Assess
    expect(table.code).toBe(1);
    expect(table.stdout).toContain('REPLICATION');
    expect(table.stdout).toContain(`${FAILING} FAILED, ${HEALTHY} ok`);
    expect(table.stdout).toContain(
      `! ${name}: replication to ${FAILING} failed: Secret with this name already exists in this region.`,
    );
    expect(table.stdout).toContain(
      `remove-regions-from-replication --secret-id ${name} --remove-replica-regions ${FAILING}`,
    );
    expect(json.code).toBe(1);
    const rows = (JSON.parse(json.stdout) as { secrets: Record<string, unknown>[] }).secrets;
    expect(rows.find((r) => r.name === name)?.replication).toEqual({
      primaryRegion: PRIMARY,
      replica: false,
      replicas: [
        {
          region: FAILING,
          status: 'Failed',
          message: 'Secret with this name already exists in this region',
        },
        { region: HEALTHY, status: 'InSync', message: 'Replication succeeded' },
      ],
    });
  });

  it('status in a replica Region shows the replica and its primary Region', async () => {
    const run = await runCli(twin, ['--region', HEALTHY, 'status', '--all']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`replica of ${PRIMARY}`);
  });

  it('doctor warns on the failed replica, with the commands that re-create it', async () => {
    const run = await runCli(twin, ['--json', 'doctor', name]);
    const findings = (JSON.parse(run.stdout) as { findings: Record<string, unknown>[] }).findings;
    expect(findings).toContainEqual(
      expect.objectContaining({
        id: 'replica-failed',
        severity: 'warning',
        title: `Replication to ${FAILING} failed: Secret with this name already exists in this region.`,
      }),
    );
    expect(findings).toContainEqual(
      expect.objectContaining({ id: 'replica-in-sync', severity: 'ok' }),
    );
    const text = await runCli(twin, ['doctor', name]);
    expect(text.stdout).toContain(`! Replication to ${FAILING} failed`);
  });

  it('doctor on a replica points to the primary Region instead of reporting rotation as off', async () => {
    const run = await runCli(twin, ['--region', HEALTHY, '--json', 'doctor', name]);
    const findings = (JSON.parse(run.stdout) as { findings: Record<string, unknown>[] }).findings;
    expect(findings).toContainEqual(
      expect.objectContaining({
        id: 'replica',
        // The twin serves every Region: its endpoint stays, the Region becomes the primary's.
        fix: `npx rotator doctor ${name} --endpoint-url ${twin.url} --region ${PRIMARY}`,
      }),
    );
    expect(findings.map((f) => f.id)).not.toContain('rotation-disabled');
  });
});
