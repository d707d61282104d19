import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  CancelRotateSecretCommand,
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  ListSecretsCommand,
  PutSecretValueCommand,
  RemoveRegionsFromReplicationCommand,
  ReplicateSecretToRegionsCommand,
  ResourceNotFoundException,
  RestoreSecretCommand,
  RotateSecretCommand,
  type SecretsManagerClient,
  StopReplicationToReplicaCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import type { RotationEvent } from '../../shared/engine/types.js';
import {
  describeRaw,
  randomCredential,
  randomValue,
  scriptedRotationFunction,
  uniqueName,
  useLocalSecretsManager,
  useTempDirs,
  versionWith,
} from '../helpers/localSecretsManager.js';

const tempDir = useTempDirs('rotator-replication-');
const start = useLocalSecretsManager();
const PRIMARY = 'us-east-1';
const REPLICA = 'eu-west-1';
const OTHER = 'ap-southeast-2';
const READ_ONLY =
  "Operation not permitted on a replica secret. Call must be made in primary secret's region.";

/** A twin (default Region us-east-1) and one SDK client per Region, all on its one URL. */
async function twinWithRegions(options: Parameters<typeof start>[0] = {}) {
  const twin = await start({ region: PRIMARY, ...options });
  const clients = new Map<string, SecretsManagerClient>();
  const inRegion = (region: string): SecretsManagerClient => {
    let client = clients.get(region);
    if (!client) {
      client = twin.newClient(region);
      clients.set(region, client);
    }
    return client;
  };
  return { twin, primary: inRegion(PRIMARY), replica: inRegion(REPLICA), inRegion };
}

async function replicated(primary: SecretsManagerClient, regions = [REPLICA]) {
  const name = uniqueName('multi');
  const value = randomValue();
  const created = await primary.send(
    new CreateSecretCommand({
      Name: name,
      SecretString: value,
      AddReplicaRegions: regions.map((Region) => ({ Region })),
    }),
  );
  return { name, value, created, arn: created.ARN as string };
}

const replicaArn = (arn: string, region = REPLICA) => arn.replace(`:${PRIMARY}:`, `:${region}:`);

describe('local Secrets Manager: Regions and multi-Region secrets', () => {
  describe('Regions', () => {
    it('puts the Region of the request signature in the ARN and resolves ids within that Region', async () => {
      // Prepare
      const { primary, replica } = await twinWithRegions();
      const name = uniqueName('regional');
      // Act
      const inReplicaRegion = await replica.send(
        new CreateSecretCommand({ Name: name, SecretString: randomValue() }),
      );
      const inPrimaryRegion = await primary.send(
        new CreateSecretCommand({ Name: name, SecretString: randomValue() }),
      );
      // Assess: the same name is two secrets, one per Region
      expect(inReplicaRegion.ARN).toMatch(new RegExp(`^arn:aws:secretsmanager:${REPLICA}:`));
      expect(inPrimaryRegion.ARN).toMatch(new RegExp(`^arn:aws:secretsmanager:${PRIMARY}:`));
      const described = await replica.send(new DescribeSecretCommand({ SecretId: name }));
      expect(described.ARN).toBe(inReplicaRegion.ARN);
      await expect(
        primary.send(new DescribeSecretCommand({ SecretId: inReplicaRegion.ARN })),
      ).rejects.toBeInstanceOf(ResourceNotFoundException);
      const listed = await replica.send(new ListSecretsCommand({}));
      expect(listed.SecretList?.map((s) => s.ARN)).toEqual([inReplicaRegion.ARN]);
    });

    it('resolves a name held in several Regions to the default Region in the white-box API', async () => {
      const { twin, replica } = await twinWithRegions();
      const name = uniqueName('twice');
      await replica.send(new CreateSecretCommand({ Name: name, SecretString: randomValue() }));
      const own = await twin.client.send(
        new CreateSecretCommand({ Name: name, SecretString: randomValue() }),
      );
      expect(twin.store.find(name)?.arn).toBe(own.ARN);
    });

    it('uses the default Region for an unsigned request', async () => {
      const { twin, replica } = await twinWithRegions();
      const name = uniqueName('unsigned');
      await replica.send(new CreateSecretCommand({ Name: name, SecretString: randomValue() }));
      expect((await describeRaw(twin.url, name)).__type).toBe('ResourceNotFoundException');
      await twin.client.send(new CreateSecretCommand({ Name: name, SecretString: randomValue() }));
      expect((await describeRaw(twin.url, name)).ARN).toMatch(`:${PRIMARY}:`);
    });
  });

  describe('CreateSecret with AddReplicaRegions', () => {
    it('creates a replica with the same ARN but for the Region, readable in its Region', async () => {
      // Prepare
      const { primary, replica } = await twinWithRegions();
      // Act
      const { name, value, created, arn } = await replicated(primary);
      // Assess
      expect(created.ReplicationStatus).toEqual([
        {
          Region: REPLICA,
          KmsKeyId: 'alias/aws/secretsmanager',
          Status: 'InSync',
          StatusMessage: 'Replication succeeded',
        },
      ]);
      const read = await replica.send(new GetSecretValueCommand({ SecretId: name }));
      expect(read.ARN).toBe(replicaArn(arn));
      expect(read.SecretString).toBe(value);
      expect(read.VersionId).toBe(created.VersionId);
      const described = await replica.send(
        new DescribeSecretCommand({ SecretId: replicaArn(arn) }),
      );
      expect(described.PrimaryRegion).toBe(PRIMARY);
      expect(described.ReplicationStatus).toBeUndefined();
      const primaryView = await primary.send(new DescribeSecretCommand({ SecretId: name }));
      expect(primaryView.PrimaryRegion).toBe(PRIMARY);
      expect(primaryView.ReplicationStatus?.[0]).toMatchObject({
        Region: REPLICA,
        Status: 'InSync',
      });
      expect(primaryView.ReplicationStatus?.[0]?.LastAccessedDate).toBeInstanceOf(Date);
      expect(described.VersionIdsToStages).toEqual(primaryView.VersionIdsToStages);
    });

    it('refuses the primary Region itself as a replica Region', async () => {
      const { primary } = await twinWithRegions();
      await expect(
        primary.send(
          new CreateSecretCommand({
            Name: uniqueName(),
            SecretString: randomValue(),
            AddReplicaRegions: [{ Region: PRIMARY }],
          }),
        ),
      ).rejects.toBeInstanceOf(InvalidParameterException);
    });

    it('reports a replica as Failed when its Region has a secret of that name, and replaces it with ForceOverwriteReplicaSecret', async () => {
      // Prepare
      const { primary, replica } = await twinWithRegions();
      const name = uniqueName('taken');
      const theirs = randomValue();
      await replica.send(new CreateSecretCommand({ Name: name, SecretString: theirs }));
      const ours = await primary.send(
        new CreateSecretCommand({ Name: name, SecretString: randomValue() }),
      );
      // Act
      const refused = await primary.send(
        new ReplicateSecretToRegionsCommand({
          SecretId: name,
          AddReplicaRegions: [{ Region: REPLICA }],
        }),
      );
      // Assess
      expect(refused.ReplicationStatus?.[0]).toMatchObject({
        Region: REPLICA,
        Status: 'Failed',
        StatusMessage: 'Secret with this name already exists in this region',
      });
      expect((await replica.send(new GetSecretValueCommand({ SecretId: name }))).SecretString).toBe(
        theirs,
      );
      // Act: retried with overwrite
      const forced = await primary.send(
        new ReplicateSecretToRegionsCommand({
          SecretId: name,
          AddReplicaRegions: [{ Region: REPLICA, KmsKeyId: 'alias/replica-key' }],
          ForceOverwriteReplicaSecret: true,
        }),
      );
      expect(forced.ReplicationStatus).toEqual([
        expect.objectContaining({ Status: 'InSync', KmsKeyId: 'alias/replica-key' }),
      ]);
      const read = await replica.send(new GetSecretValueCommand({ SecretId: name }));
      expect(read.ARN).toBe(replicaArn(ours.ARN as string));
      expect(read.VersionId).toBe(ours.VersionId);
    });
  });

  describe('a replica is read-only', () => {
    type Write = (client: SecretsManagerClient, id: string) => Promise<unknown>;
    const writes: [string, Write][] = [
      [
        'PutSecretValue',
        (c, id) => c.send(new PutSecretValueCommand({ SecretId: id, SecretString: 'x' })),
      ],
      [
        'UpdateSecret',
        (c, id) => c.send(new UpdateSecretCommand({ SecretId: id, Description: 'x' })),
      ],
      [
        'UpdateSecretVersionStage',
        (c, id) =>
          c.send(
            new UpdateSecretVersionStageCommand({
              SecretId: id,
              VersionStage: 'CUSTOM',
              MoveToVersionId: randomBytes(16).toString('hex'),
            }),
          ),
      ],
      [
        'TagResource',
        (c, id) =>
          c.send(new TagResourceCommand({ SecretId: id, Tags: [{ Key: 'k', Value: 'v' }] })),
      ],
      [
        'UntagResource',
        (c, id) => c.send(new UntagResourceCommand({ SecretId: id, TagKeys: ['k'] })),
      ],
      ['DeleteSecret', (c, id) => c.send(new DeleteSecretCommand({ SecretId: id }))],
      ['RestoreSecret', (c, id) => c.send(new RestoreSecretCommand({ SecretId: id }))],
      ['RotateSecret', (c, id) => c.send(new RotateSecretCommand({ SecretId: id }))],
      ['CancelRotateSecret', (c, id) => c.send(new CancelRotateSecretCommand({ SecretId: id }))],
      [
        'ReplicateSecretToRegions',
        (c, id) =>
          c.send(
            new ReplicateSecretToRegionsCommand({
              SecretId: id,
              AddReplicaRegions: [{ Region: OTHER }],
            }),
          ),
      ],
      [
        'RemoveRegionsFromReplication',
        (c, id) =>
          c.send(
            new RemoveRegionsFromReplicationCommand({
              SecretId: id,
              RemoveReplicaRegions: [OTHER],
            }),
          ),
      ],
    ];

    it.each(writes)(
      '%s in the replica Region answers InvalidParameterException',
      async (_, command) => {
        // Prepare
        const { primary, replica } = await twinWithRegions();
        const { name, value } = await replicated(primary);
        // Act
        const error = await command(replica, name).then(
          () => undefined,
          (e: unknown) => e,
        );
        // Assess
        expect(error).toBeInstanceOf(InvalidParameterException);
        expect((error as Error).message).toBe(READ_ONLY);
        expect(
          (await replica.send(new GetSecretValueCommand({ SecretId: name }))).SecretString,
        ).toBe(value);
      },
    );
  });

  describe('replicas follow the primary', () => {
    it('shows every rotation step of the primary in the replica Region, the same labels on the same versions', async () => {
      // Prepare: a function that, after each step, compares what both Regions show
      const seen: { step: string; primary: unknown; replica: unknown; pending?: string }[] = [];
      let replicaClient: SecretsManagerClient | undefined;
      let primaryClient: SecretsManagerClient | undefined;
      const { twin, primary, replica, inRegion } = await twinWithRegions({
        registry: ({ client }) => {
          const script = scriptedRotationFunction(client);
          return new Map([
            [
              'rotate-replicated',
              async (event: RotationEvent, context) => {
                await script.fn(event, context);
                const [p, r] = await Promise.all(
                  [primaryClient, replicaClient].map((c) =>
                    c?.send(new DescribeSecretCommand({ SecretId: nameOf(event.SecretId) })),
                  ),
                );
                const pending =
                  event.Step === 'createSecret'
                    ? (
                        await replicaClient?.send(
                          new GetSecretValueCommand({
                            SecretId: nameOf(event.SecretId),
                            VersionStage: 'AWSPENDING',
                          }),
                        )
                      )?.SecretString
                    : undefined;
                seen.push({
                  step: event.Step,
                  primary: p?.VersionIdsToStages,
                  replica: r?.VersionIdsToStages,
                  ...(pending ? { pending } : {}),
                });
              },
            ],
          ]);
        },
      });
      primaryClient = primary;
      replicaClient = replica;
      const { name } = await replicated(primary, [REPLICA, OTHER]);
      // Act
      const rotated = await primary.send(
        new RotateSecretCommand({ SecretId: name, RotationLambdaARN: 'rotate-replicated' }),
      );
      expect((await twin.rotations.waitFor(name))?.state).toBe('Succeeded');
      // Assess: each step, both Regions agree
      expect(seen.map((s) => s.step)).toEqual([
        'createSecret',
        'setSecret',
        'testSecret',
        'finishSecret',
      ]);
      for (const s of seen) expect(s.replica).toEqual(s.primary);
      const pendingValue = (
        await primary.send(
          new GetSecretValueCommand({ SecretId: name, VersionId: rotated.VersionId }),
        )
      ).SecretString;
      expect(seen[0]?.pending).toBe(pendingValue);
      // After the rotation (including the twin's own clean-up), in both replica Regions
      const final = await primary.send(new DescribeSecretCommand({ SecretId: name }));
      for (const region of [REPLICA, OTHER]) {
        const there = await inRegion(region).send(new DescribeSecretCommand({ SecretId: name }));
        expect(there.VersionIdsToStages).toEqual(final.VersionIdsToStages);
        expect(versionWith(there.VersionIdsToStages, 'AWSCURRENT')).toBe(rotated.VersionId);
        expect(there.LastRotatedDate).toEqual(final.LastRotatedDate);
        expect(there.RotationEnabled).toBeUndefined();
      }
    });

    it('copies values, tags and description written in the primary Region', async () => {
      const { primary, replica } = await twinWithRegions();
      const { name } = await replicated(primary);
      const next = randomCredential();
      await primary.send(new PutSecretValueCommand({ SecretId: name, SecretString: next }));
      await primary.send(
        new TagResourceCommand({ SecretId: name, Tags: [{ Key: 'team', Value: 'db' }] }),
      );
      await primary.send(new UpdateSecretCommand({ SecretId: name, Description: 'replicated' }));
      expect((await replica.send(new GetSecretValueCommand({ SecretId: name }))).SecretString).toBe(
        next,
      );
      const described = await replica.send(new DescribeSecretCommand({ SecretId: name }));
      expect(described.Tags).toEqual([{ Key: 'team', Value: 'db' }]);
      expect(described.Description).toBe('replicated');
    });

    it('keeps replication across a restart on the same state file', async () => {
      const dir = tempDir();
      const options = { statePath: join(dir, 'state.json'), masterKey: randomBytes(32) };
      const first = await twinWithRegions(options);
      const { name, value } = await replicated(first.primary);
      await first.twin.close();
      const second = await twinWithRegions(options);
      expect(
        (await second.replica.send(new GetSecretValueCommand({ SecretId: name }))).SecretString,
      ).toBe(value);
      const next = randomValue();
      await second.primary.send(new PutSecretValueCommand({ SecretId: name, SecretString: next }));
      expect(
        (await second.replica.send(new GetSecretValueCommand({ SecretId: name }))).SecretString,
      ).toBe(next);
    });
  });

  describe('StopReplicationToReplica', () => {
    it('promotes the replica to a standalone secret that no longer follows the primary', async () => {
      // Prepare
      const { primary, replica } = await twinWithRegions();
      const { name, value, arn } = await replicated(primary);
      // Act
      const stopped = await replica.send(
        new StopReplicationToReplicaCommand({ SecretId: replicaArn(arn) }),
      );
      // Assess
      expect(stopped.ARN).toBe(replicaArn(arn));
      const standalone = await replica.send(new DescribeSecretCommand({ SecretId: name }));
      expect(standalone.PrimaryRegion).toBeUndefined();
      const primaryView = await primary.send(new DescribeSecretCommand({ SecretId: name }));
      expect(primaryView.ReplicationStatus).toBeUndefined();
      await primary.send(
        new PutSecretValueCommand({ SecretId: name, SecretString: randomValue() }),
      );
      expect((await replica.send(new GetSecretValueCommand({ SecretId: name }))).SecretString).toBe(
        value,
      );
      const own = randomValue();
      await replica.send(new PutSecretValueCommand({ SecretId: name, SecretString: own }));
      expect((await replica.send(new GetSecretValueCommand({ SecretId: name }))).SecretString).toBe(
        own,
      );
    });

    it('refuses a secret that is not a replica', async () => {
      const { primary } = await twinWithRegions();
      const { name } = await replicated(primary);
      await expect(
        primary.send(new StopReplicationToReplicaCommand({ SecretId: name })),
      ).rejects.toBeInstanceOf(InvalidParameterException);
    });
  });

  describe('RemoveRegionsFromReplication', () => {
    it('deletes the replica in that Region only; the primary can then be deleted', async () => {
      // Prepare
      const { primary, replica, inRegion } = await twinWithRegions();
      const { name, arn } = await replicated(primary, [REPLICA, OTHER]);
      const refused = await primary.send(new DeleteSecretCommand({ SecretId: name })).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(refused).toBeInstanceOf(InvalidParameterException);
      expect(refused?.message).toBe(
        `You can't delete secret ${arn} that still has replica regions [${REPLICA}, ${OTHER}].`,
      );
      // Act
      const removed = await primary.send(
        new RemoveRegionsFromReplicationCommand({
          SecretId: name,
          RemoveReplicaRegions: [REPLICA],
        }),
      );
      // Assess
      expect(removed.ReplicationStatus?.map((r) => r.Region)).toEqual([OTHER]);
      await expect(
        replica.send(new DescribeSecretCommand({ SecretId: name })),
      ).rejects.toBeInstanceOf(ResourceNotFoundException);
      expect(
        (await inRegion(OTHER).send(new DescribeSecretCommand({ SecretId: name }))).PrimaryRegion,
      ).toBe(PRIMARY);
      // Idempotent, then the last one
      await primary.send(
        new RemoveRegionsFromReplicationCommand({
          SecretId: name,
          RemoveReplicaRegions: [REPLICA, OTHER],
        }),
      );
      const primaryView = await primary.send(new DescribeSecretCommand({ SecretId: name }));
      expect(primaryView.ReplicationStatus).toBeUndefined();
      expect(primaryView.PrimaryRegion).toBeUndefined();
      await primary.send(
        new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }),
      );
    });
  });

  it('lists replicas in their Region with PrimaryRegion, and filters on primary-region', async () => {
    const { primary, replica } = await twinWithRegions();
    const { arn } = await replicated(primary);
    await replica.send(
      new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
    );
    const listed = await replica.send(
      new ListSecretsCommand({ Filters: [{ Key: 'primary-region', Values: [PRIMARY] }] }),
    );
    expect(listed.SecretList?.map((s) => [s.ARN, s.PrimaryRegion])).toEqual([
      [replicaArn(arn), PRIMARY],
    ]);
  });
});

/** The secret name in a secret ARN (without the 6-character suffix). */
function nameOf(arn: string): string {
  return arn.split(':secret:')[1]?.slice(0, -7) ?? arn;
}
