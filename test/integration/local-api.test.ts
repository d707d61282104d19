import { randomBytes } from 'node:crypto';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  type GetRandomPasswordCommandInput,
  GetSecretValueCommand,
  InvalidNextTokenException,
  InvalidParameterException,
  InvalidRequestException,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  RestoreSecretCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../local/secrets-manager/index.js';
import {
  randomValue,
  uniqueName,
  useLocalSecretsManager,
  versionWith,
} from '../helpers/localSecretsManager.js';

const start = useLocalSecretsManager();
const DAY = 86_400_000;
const token = () => randomBytes(16).toString('hex');

describe('local Secrets Manager: the JSON 1.1 API through the AWS SDK v3', () => {
  describe('CreateSecret', () => {
    it('returns an ARN of the form arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 random chars>', async () => {
      // Prepare
      const twin = await start({ region: 'eu-west-1', accountId: '210987654321' });
      const name = uniqueName();
      // Act
      const created = await twin.client.send(
        new CreateSecretCommand({ Name: name, SecretString: randomValue() }),
      );
      // Assess
      expect(created.Name).toBe(name);
      expect(created.ARN).toMatch(
        new RegExp(`^arn:aws:secretsmanager:eu-west-1:210987654321:secret:${name}-[A-Za-z0-9]{6}$`),
      );
      expect(created.VersionId).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('labels the first version AWSCURRENT', async () => {
      const twin = await start();
      const created = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
      );
      const described = await twin.client.send(
        new DescribeSecretCommand({ SecretId: created.ARN }),
      );
      expect(described.VersionIdsToStages).toEqual({
        [created.VersionId as string]: ['AWSCURRENT'],
      });
    });

    it('creates a secret without a version when no value is given', async () => {
      const twin = await start();
      const created = await twin.client.send(new CreateSecretCommand({ Name: uniqueName() }));
      expect(created.VersionId).toBeUndefined();
      await expect(
        twin.client.send(new GetSecretValueCommand({ SecretId: created.ARN })),
      ).rejects.toBeInstanceOf(ResourceNotFoundException);
    });

    it('refuses a second secret with the same name with ResourceExistsException', async () => {
      const twin = await start();
      const name = uniqueName();
      await twin.client.send(new CreateSecretCommand({ Name: name, SecretString: randomValue() }));
      await expect(
        twin.client.send(new CreateSecretCommand({ Name: name, SecretString: randomValue() })),
      ).rejects.toBeInstanceOf(ResourceExistsException);
    });

    it('refuses SecretString and SecretBinary together with InvalidParameterException', async () => {
      const twin = await start();
      await expect(
        twin.client.send(
          new CreateSecretCommand({
            Name: uniqueName(),
            SecretString: randomValue(),
            SecretBinary: randomBytes(8),
          }),
        ),
      ).rejects.toBeInstanceOf(InvalidParameterException);
    });

    it('stores binary secrets and returns them as bytes', async () => {
      const twin = await start();
      const bytes = randomBytes(48);
      const created = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretBinary: bytes }),
      );
      const got = await twin.client.send(new GetSecretValueCommand({ SecretId: created.ARN }));
      expect(Buffer.from(got.SecretBinary as Uint8Array).equals(bytes)).toBe(true);
      expect(got.SecretString).toBeUndefined();
    });
  });

  describe('GetSecretValue', () => {
    it('finds a secret by name, full ARN and partial ARN (without the random suffix)', async () => {
      const twin = await start();
      const value = randomValue();
      const name = uniqueName();
      const { ARN } = await twin.client.send(
        new CreateSecretCommand({ Name: name, SecretString: value }),
      );
      const arn = ARN as string;
      for (const id of [name, arn, arn.slice(0, -7)]) {
        const got = await twin.client.send(new GetSecretValueCommand({ SecretId: id }));
        expect(got.SecretString).toBe(value);
        expect(got.ARN).toBe(arn);
        expect(got.VersionStages).toEqual(['AWSCURRENT']);
        expect(got.CreatedDate).toBeInstanceOf(Date);
      }
    });

    it('raises ResourceNotFoundException for an unknown secret, with HTTP 400', async () => {
      const twin = await start();
      const error = await twin.client
        .send(new GetSecretValueCommand({ SecretId: uniqueName() }))
        .catch((e) => e);
      expect(error).toBeInstanceOf(ResourceNotFoundException);
      expect(error.message).toBe("Secrets Manager can't find the specified secret.");
      expect(error.$metadata.httpStatusCode).toBe(400);
    });

    it('returns AWSPREVIOUS by VersionStage and a version by VersionId', async () => {
      const twin = await start();
      const first = randomValue();
      const second = randomValue();
      const { ARN, VersionId } = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretString: first }),
      );
      await twin.client.send(new PutSecretValueCommand({ SecretId: ARN, SecretString: second }));
      const previous = await twin.client.send(
        new GetSecretValueCommand({ SecretId: ARN, VersionStage: 'AWSPREVIOUS' }),
      );
      const byId = await twin.client.send(new GetSecretValueCommand({ SecretId: ARN, VersionId }));
      expect(previous.SecretString).toBe(first);
      expect(byId.SecretString).toBe(first);
      expect(byId.VersionStages).toEqual(['AWSPREVIOUS']);
    });

    it('requires VersionId and VersionStage, when both are given, to refer to the same version (InvalidRequestException)', async () => {
      const twin = await start();
      const { ARN, VersionId } = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
      );
      await twin.client.send(
        new PutSecretValueCommand({ SecretId: ARN, SecretString: randomValue() }),
      );
      await expect(
        twin.client.send(
          new GetSecretValueCommand({ SecretId: ARN, VersionId, VersionStage: 'AWSCURRENT' }),
        ),
      ).rejects.toBeInstanceOf(InvalidRequestException);
    });

    it('raises ResourceNotFoundException naming the staging label when no version holds it', async () => {
      const twin = await start();
      const { ARN } = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
      );
      const error = await twin.client
        .send(new GetSecretValueCommand({ SecretId: ARN, VersionStage: 'AWSPENDING' }))
        .catch((e) => e);
      expect(error).toBeInstanceOf(ResourceNotFoundException);
      expect(error.message).toBe(
        "Secrets Manager can't find the specified secret value for staging label: AWSPENDING",
      );
    });

    it('records LastAccessedDate at day granularity', async () => {
      const clock = new ManualClock(Date.UTC(2026, 2, 3, 15, 4, 5));
      const twin = await start({ clock });
      const { ARN } = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
      );
      expect(
        (await twin.client.send(new DescribeSecretCommand({ SecretId: ARN }))).LastAccessedDate,
      ).toBeUndefined();
      await twin.client.send(new GetSecretValueCommand({ SecretId: ARN }));
      const described = await twin.client.send(new DescribeSecretCommand({ SecretId: ARN }));
      expect(described.LastAccessedDate?.toISOString()).toBe('2026-03-03T00:00:00.000Z');
    });
  });

  describe('PutSecretValue', () => {
    it('without VersionStages moves AWSCURRENT to the new version and AWSPREVIOUS to the old one', async () => {
      const twin = await start();
      const { ARN, VersionId: v1 } = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
      );
      const { VersionId: v2 } = await twin.client.send(
        new PutSecretValueCommand({ SecretId: ARN, SecretString: randomValue() }),
      );
      const { VersionId: v3, VersionStages } = await twin.client.send(
        new PutSecretValueCommand({ SecretId: ARN, SecretString: randomValue() }),
      );
      const described = await twin.client.send(new DescribeSecretCommand({ SecretId: ARN }));
      expect(VersionStages).toEqual(['AWSCURRENT']);
      // v1 lost its last label: deprecated, so not in VersionIdsToStages.
      expect(described.VersionIdsToStages).toEqual({
        [v2 as string]: ['AWSPREVIOUS'],
        [v3 as string]: ['AWSCURRENT'],
      });
      expect(v1).not.toBe(v3);
    });

    it('with VersionStages attaches only those labels, moving them off other versions', async () => {
      const twin = await start();
      const { ARN, VersionId: v1 } = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
      );
      const { VersionId: v2 } = await twin.client.send(
        new PutSecretValueCommand({
          SecretId: ARN,
          SecretString: randomValue(),
          VersionStages: ['BLUE'],
        }),
      );
      const { VersionId: v3 } = await twin.client.send(
        new PutSecretValueCommand({
          SecretId: ARN,
          SecretString: randomValue(),
          VersionStages: ['BLUE', 'GREEN'],
        }),
      );
      const described = await twin.client.send(new DescribeSecretCommand({ SecretId: ARN }));
      expect(described.VersionIdsToStages).toEqual({
        [v1 as string]: ['AWSCURRENT'],
        [v3 as string]: ['BLUE', 'GREEN'],
      });
      expect(v2).toBeDefined();
    });

    it('is idempotent for the same ClientRequestToken and the same value', async () => {
      const twin = await start();
      const { ARN } = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
      );
      const value = randomValue();
      const t = token();
      const first = await twin.client.send(
        new PutSecretValueCommand({ SecretId: ARN, SecretString: value, ClientRequestToken: t }),
      );
      const again = await twin.client.send(
        new PutSecretValueCommand({ SecretId: ARN, SecretString: value, ClientRequestToken: t }),
      );
      const versions = await twin.client.send(
        new ListSecretVersionIdsCommand({ SecretId: ARN, IncludeDeprecated: true }),
      );
      expect(again.VersionId).toBe(first.VersionId);
      expect(versions.Versions).toHaveLength(2);
    });

    it('refuses the same ClientRequestToken with a different value with ResourceExistsException', async () => {
      const twin = await start();
      const { ARN } = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
      );
      const t = token();
      await twin.client.send(
        new PutSecretValueCommand({
          SecretId: ARN,
          SecretString: randomValue(),
          ClientRequestToken: t,
        }),
      );
      await expect(
        twin.client.send(
          new PutSecretValueCommand({
            SecretId: ARN,
            SecretString: randomValue(),
            ClientRequestToken: t,
          }),
        ),
      ).rejects.toBeInstanceOf(ResourceExistsException);
    });

    it('refuses a request with neither SecretString nor SecretBinary (InvalidParameterException)', async () => {
      const twin = await start();
      const { ARN } = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
      );
      await expect(
        twin.client.send(new PutSecretValueCommand({ SecretId: ARN })),
      ).rejects.toBeInstanceOf(InvalidParameterException);
    });

    it('prunes deprecated versions past 100, but never ones younger than 24 hours', async () => {
      const clock = new ManualClock();
      const twin = await start({ clock });
      const { ARN, VersionId: oldest } = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
      );
      for (let i = 0; i < 104; i++) {
        await twin.client.send(
          new PutSecretValueCommand({ SecretId: ARN, SecretString: randomValue() }),
        );
      }
      const count = async () => {
        let total = 0;
        let NextToken: string | undefined;
        do {
          const page = await twin.client.send(
            new ListSecretVersionIdsCommand({ SecretId: ARN, IncludeDeprecated: true, NextToken }),
          );
          total += page.Versions?.length ?? 0;
          NextToken = page.NextToken;
        } while (NextToken);
        return total;
      };
      // All younger than 24h: nothing may go.
      expect(await count()).toBe(105);
      clock.advance(DAY);
      await twin.client.send(
        new PutSecretValueCommand({ SecretId: ARN, SecretString: randomValue() }),
      );
      expect(await count()).toBe(100);
      await expect(
        twin.client.send(new GetSecretValueCommand({ SecretId: ARN, VersionId: oldest })),
      ).rejects.toBeInstanceOf(ResourceNotFoundException);
      const described = await twin.client.send(new DescribeSecretCommand({ SecretId: ARN }));
      expect(
        Object.values(described.VersionIdsToStages ?? {})
          .flat()
          .sort(),
      ).toEqual(['AWSCURRENT', 'AWSPREVIOUS']);
    });
  });

  describe('UpdateSecret', () => {
    it('changes the description without creating a version', async () => {
      const twin = await start();
      const { ARN } = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
      );
      const updated = await twin.client.send(
        new UpdateSecretCommand({ SecretId: ARN, Description: 'changed' }),
      );
      const described = await twin.client.send(new DescribeSecretCommand({ SecretId: ARN }));
      expect(updated.VersionId).toBeUndefined();
      expect(described.Description).toBe('changed');
      expect(Object.keys(described.VersionIdsToStages ?? {})).toHaveLength(1);
    });

    it('with a value creates a new AWSCURRENT version and moves AWSPREVIOUS', async () => {
      const twin = await start();
      const { ARN, VersionId: v1 } = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
      );
      const value = randomValue();
      const { VersionId: v2 } = await twin.client.send(
        new UpdateSecretCommand({ SecretId: ARN, SecretString: value }),
      );
      const described = await twin.client.send(new DescribeSecretCommand({ SecretId: ARN }));
      expect(described.VersionIdsToStages).toEqual({
        [v1 as string]: ['AWSPREVIOUS'],
        [v2 as string]: ['AWSCURRENT'],
      });
      expect(
        (await twin.client.send(new GetSecretValueCommand({ SecretId: ARN }))).SecretString,
      ).toBe(value);
    });
  });

  describe('ClientRequestToken idempotency on UpdateSecret', () => {
    it('ignores a repeated UpdateSecret with the same token and value, and refuses a different value', async () => {
      const twin = await start();
      const { ARN } = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
      );
      const value = randomValue();
      const t = token();
      const first = await twin.client.send(
        new UpdateSecretCommand({ SecretId: ARN, SecretString: value, ClientRequestToken: t }),
      );
      const again = await twin.client.send(
        new UpdateSecretCommand({ SecretId: ARN, SecretString: value, ClientRequestToken: t }),
      );
      await expect(
        twin.client.send(
          new UpdateSecretCommand({
            SecretId: ARN,
            SecretString: randomValue(),
            ClientRequestToken: t,
          }),
        ),
      ).rejects.toBeInstanceOf(ResourceExistsException);
      const described = await twin.client.send(new DescribeSecretCommand({ SecretId: ARN }));
      expect(again.VersionId).toBe(first.VersionId);
      expect(versionWith(described.VersionIdsToStages, 'AWSCURRENT')).toBe(t);
      expect(Object.keys(described.VersionIdsToStages ?? {})).toHaveLength(2);
    });
  });

  describe('DescribeSecret', () => {
    it('reports dates, tags and only labelled versions in VersionIdsToStages', async () => {
      const clock = new ManualClock(Date.UTC(2026, 4, 1, 12));
      const twin = await start({ clock });
      const { ARN } = await twin.client.send(
        new CreateSecretCommand({
          Name: uniqueName(),
          SecretString: randomValue(),
          Description: 'described',
          Tags: [{ Key: 'team', Value: 'platform' }],
        }),
      );
      clock.advance(60_000);
      await twin.client.send(
        new PutSecretValueCommand({ SecretId: ARN, SecretString: randomValue() }),
      );
      await twin.client.send(
        new PutSecretValueCommand({ SecretId: ARN, SecretString: randomValue() }),
      );
      const described = await twin.client.send(new DescribeSecretCommand({ SecretId: ARN }));
      expect(described.CreatedDate?.toISOString()).toBe('2026-05-01T12:00:00.000Z');
      expect(described.LastChangedDate?.toISOString()).toBe('2026-05-01T12:01:00.000Z');
      expect(described.Tags).toEqual([{ Key: 'team', Value: 'platform' }]);
      expect(described.Description).toBe('described');
      expect(Object.keys(described.VersionIdsToStages ?? {})).toHaveLength(2);
      expect(described.DeletedDate).toBeUndefined();
      expect(described.RotationEnabled).toBeUndefined();
      const untagged = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
      );
      // "Secrets Manager only returns fields that have a value in the response."
      expect(
        (await twin.client.send(new DescribeSecretCommand({ SecretId: untagged.ARN }))).Tags,
      ).toBeUndefined();
    });
  });

  describe('ListSecrets', () => {
    it('filters by name prefix (case-sensitive), tag-key, tag-value and negation', async () => {
      const twin = await start();
      const prefix = `list${randomBytes(3).toString('hex')}`;
      await twin.client.send(
        new CreateSecretCommand({ Name: `${prefix}/db`, Tags: [{ Key: 'env', Value: 'prod' }] }),
      );
      await twin.client.send(
        new CreateSecretCommand({ Name: `${prefix}/api`, Tags: [{ Key: 'env', Value: 'dev' }] }),
      );
      await twin.client.send(
        new CreateSecretCommand({
          Name: `${prefix.toUpperCase()}/x`,
          Tags: [{ Key: 'owner', Value: 'me' }],
        }),
      );
      const names = async (
        Filters: {
          Key: 'name' | 'tag-key' | 'tag-value' | 'description' | 'all';
          Values: string[];
        }[],
      ) =>
        ((await twin.client.send(new ListSecretsCommand({ Filters }))).SecretList ?? [])
          .map((s) => s.Name)
          .sort();
      expect(await names([{ Key: 'name', Values: [prefix] }])).toEqual([
        `${prefix}/api`,
        `${prefix}/db`,
      ]);
      expect(
        await names([
          { Key: 'name', Values: [prefix] },
          { Key: 'tag-value', Values: ['prod'] },
        ]),
      ).toEqual([`${prefix}/db`]);
      expect(await names([{ Key: 'tag-key', Values: ['own'] }])).toEqual([
        `${prefix.toUpperCase()}/x`,
      ]);
      expect(
        await names([
          { Key: 'name', Values: [prefix] },
          { Key: 'tag-value', Values: ['!prod'] },
        ]),
      ).toEqual([`${prefix}/api`]);
      expect(await names([{ Key: 'all', Values: [prefix] }])).toHaveLength(3);
    });

    it('pages with MaxResults and NextToken, and rejects a forged NextToken', async () => {
      const twin = await start();
      const prefix = `page${randomBytes(3).toString('hex')}`;
      for (let i = 0; i < 5; i++)
        await twin.client.send(new CreateSecretCommand({ Name: `${prefix}/${i}` }));
      const seen: string[] = [];
      let NextToken: string | undefined;
      let pages = 0;
      do {
        const page = await twin.client.send(
          new ListSecretsCommand({
            MaxResults: 2,
            NextToken,
            Filters: [{ Key: 'name', Values: [prefix] }],
          }),
        );
        seen.push(...(page.SecretList ?? []).map((s) => s.Name as string));
        NextToken = page.NextToken;
        pages++;
      } while (NextToken);
      expect(pages).toBe(3);
      expect(seen.sort()).toEqual([0, 1, 2, 3, 4].map((i) => `${prefix}/${i}`));
      await expect(
        twin.client.send(new ListSecretsCommand({ NextToken: 'forged' })),
      ).rejects.toBeInstanceOf(InvalidNextTokenException);
    });

    it('lists SecretVersionsToStages for each secret', async () => {
      const twin = await start();
      const name = uniqueName();
      const { VersionId } = await twin.client.send(
        new CreateSecretCommand({ Name: name, SecretString: randomValue() }),
      );
      const list = await twin.client.send(
        new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [name] }] }),
      );
      expect(list.SecretList?.[0]?.SecretVersionsToStages).toEqual({
        [VersionId as string]: ['AWSCURRENT'],
      });
    });
  });

  describe('ListSecretVersionIds', () => {
    it('omits deprecated versions unless IncludeDeprecated is true', async () => {
      const twin = await start();
      const { ARN } = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
      );
      await twin.client.send(
        new PutSecretValueCommand({ SecretId: ARN, SecretString: randomValue() }),
      );
      await twin.client.send(
        new PutSecretValueCommand({ SecretId: ARN, SecretString: randomValue() }),
      );
      const labelled = await twin.client.send(new ListSecretVersionIdsCommand({ SecretId: ARN }));
      const all = await twin.client.send(
        new ListSecretVersionIdsCommand({ SecretId: ARN, IncludeDeprecated: true }),
      );
      expect(labelled.Versions).toHaveLength(2);
      expect(all.Versions).toHaveLength(3);
      expect(all.Versions?.filter((v) => v.VersionStages?.length === 0)).toHaveLength(1);
      expect(all.ARN).toBe(ARN);
    });
  });

  describe('UpdateSecretVersionStage', () => {
    it('requires RemoveFromVersionId when the label is attached to another version (InvalidParameterException, documented message)', async () => {
      const twin = await start();
      const { ARN, VersionId: v1 } = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
      );
      const { VersionId: v2 } = await twin.client.send(
        new PutSecretValueCommand({
          SecretId: ARN,
          SecretString: randomValue(),
          VersionStages: ['STAGED'],
        }),
      );
      const error = await twin.client
        .send(
          new UpdateSecretVersionStageCommand({
            SecretId: ARN,
            VersionStage: 'AWSCURRENT',
            MoveToVersionId: v2,
          }),
        )
        .catch((e) => e);
      expect(error).toBeInstanceOf(InvalidParameterException);
      expect(error.message).toBe(
        `The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version ${v1}, so you must explicitly reference that version in RemoveFromVersionId.`,
      );
    });

    it('moving AWSCURRENT moves AWSPREVIOUS onto the version it left', async () => {
      const twin = await start();
      const { ARN, VersionId: v1 } = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
      );
      const { VersionId: v2 } = await twin.client.send(
        new PutSecretValueCommand({
          SecretId: ARN,
          SecretString: randomValue(),
          VersionStages: ['STAGED'],
        }),
      );
      await twin.client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: ARN,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: v2,
          RemoveFromVersionId: v1,
        }),
      );
      const described = await twin.client.send(new DescribeSecretCommand({ SecretId: ARN }));
      expect(described.VersionIdsToStages).toEqual({
        [v1 as string]: ['AWSPREVIOUS'],
        [v2 as string]: ['STAGED', 'AWSCURRENT'],
      });
    });

    it('a label is on at most one version: moving a custom label detaches it from its old version', async () => {
      const twin = await start();
      const { ARN, VersionId: v1 } = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
      );
      const { VersionId: v2 } = await twin.client.send(
        new PutSecretValueCommand({
          SecretId: ARN,
          SecretString: randomValue(),
          VersionStages: ['BLUE'],
        }),
      );
      await twin.client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: ARN,
          VersionStage: 'BLUE',
          MoveToVersionId: v1,
          RemoveFromVersionId: v2,
        }),
      );
      const described = await twin.client.send(new DescribeSecretCommand({ SecretId: ARN }));
      expect(described.VersionIdsToStages).toEqual({ [v1 as string]: ['AWSCURRENT', 'BLUE'] });
    });

    it('without MoveToVersionId removes the label, deprecating a version left without labels', async () => {
      const twin = await start();
      const { ARN } = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
      );
      const { VersionId: v2 } = await twin.client.send(
        new PutSecretValueCommand({
          SecretId: ARN,
          SecretString: randomValue(),
          VersionStages: ['BLUE'],
        }),
      );
      await twin.client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: ARN,
          VersionStage: 'BLUE',
          RemoveFromVersionId: v2,
        }),
      );
      const described = await twin.client.send(new DescribeSecretCommand({ SecretId: ARN }));
      expect(Object.keys(described.VersionIdsToStages ?? {})).not.toContain(v2);
    });

    it('keeps exactly one AWSCURRENT: removing it without moving it is refused', async () => {
      const twin = await start();
      const { ARN, VersionId } = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
      );
      await expect(
        twin.client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: ARN,
            VersionStage: 'AWSCURRENT',
            RemoveFromVersionId: VersionId,
          }),
        ),
      ).rejects.toBeInstanceOf(InvalidParameterException);
      const described = await twin.client.send(new DescribeSecretCommand({ SecretId: ARN }));
      expect(versionWith(described.VersionIdsToStages, 'AWSCURRENT')).toBe(VersionId);
    });
  });

  describe('DeleteSecret and RestoreSecret', () => {
    it('accepts RecoveryWindowInDays only from 7 to 30 (InvalidParameterException)', async () => {
      const twin = await start();
      const { ARN } = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
      );
      for (const days of [6, 31]) {
        await expect(
          twin.client.send(new DeleteSecretCommand({ SecretId: ARN, RecoveryWindowInDays: days })),
        ).rejects.toBeInstanceOf(InvalidParameterException);
      }
      await expect(
        twin.client.send(
          new DeleteSecretCommand({
            SecretId: ARN,
            RecoveryWindowInDays: 7,
            ForceDeleteWithoutRecovery: true,
          }),
        ),
      ).rejects.toBeInstanceOf(InvalidParameterException);
    });

    it('schedules deletion: DeletionDate is the end of the window, most operations give InvalidRequestException, DescribeSecret shows DeletedDate', async () => {
      const clock = new ManualClock(Date.UTC(2026, 5, 1));
      const twin = await start({ clock });
      const name = uniqueName();
      const { ARN } = await twin.client.send(
        new CreateSecretCommand({ Name: name, SecretString: randomValue() }),
      );
      const deleted = await twin.client.send(
        new DeleteSecretCommand({ SecretId: ARN, RecoveryWindowInDays: 7 }),
      );
      expect(deleted.DeletionDate?.toISOString()).toBe('2026-06-08T00:00:00.000Z');
      await expect(
        twin.client.send(new GetSecretValueCommand({ SecretId: ARN })),
      ).rejects.toBeInstanceOf(InvalidRequestException);
      await expect(
        twin.client.send(new PutSecretValueCommand({ SecretId: ARN, SecretString: randomValue() })),
      ).rejects.toBeInstanceOf(InvalidRequestException);
      await expect(
        twin.client.send(
          new TagResourceCommand({ SecretId: ARN, Tags: [{ Key: 'k', Value: 'v' }] }),
        ),
      ).rejects.toBeInstanceOf(InvalidRequestException);
      await expect(
        twin.client.send(new CreateSecretCommand({ Name: name })),
      ).rejects.toBeInstanceOf(InvalidRequestException);
      const described = await twin.client.send(new DescribeSecretCommand({ SecretId: ARN }));
      expect(described.DeletedDate?.toISOString()).toBe('2026-06-01T00:00:00.000Z');
      const listed = await twin.client.send(
        new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [name] }] }),
      );
      const planned = await twin.client.send(
        new ListSecretsCommand({
          IncludePlannedDeletion: true,
          Filters: [{ Key: 'name', Values: [name] }],
        }),
      );
      expect(listed.SecretList).toHaveLength(0);
      expect(planned.SecretList).toHaveLength(1);
    });

    it('RestoreSecret cancels the deletion and the value is readable again', async () => {
      const twin = await start();
      const value = randomValue();
      const { ARN } = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretString: value }),
      );
      await twin.client.send(new DeleteSecretCommand({ SecretId: ARN }));
      await twin.client.send(new RestoreSecretCommand({ SecretId: ARN }));
      expect(
        (await twin.client.send(new GetSecretValueCommand({ SecretId: ARN }))).SecretString,
      ).toBe(value);
      expect(
        (await twin.client.send(new DescribeSecretCommand({ SecretId: ARN }))).DeletedDate,
      ).toBeUndefined();
    });

    it('purges the secret when the recovery window ends', async () => {
      const clock = new ManualClock();
      const twin = await start({ clock });
      const { ARN } = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), SecretString: randomValue() }),
      );
      await twin.client.send(new DeleteSecretCommand({ SecretId: ARN, RecoveryWindowInDays: 7 }));
      clock.advance(7 * DAY - 1);
      await twin.client.send(new DescribeSecretCommand({ SecretId: ARN }));
      clock.advance(1);
      await expect(
        twin.client.send(new DescribeSecretCommand({ SecretId: ARN })),
      ).rejects.toBeInstanceOf(ResourceNotFoundException);
    });

    it('ForceDeleteWithoutRecovery deletes at once, also a secret already scheduled for deletion', async () => {
      const twin = await start();
      const name = uniqueName();
      const { ARN } = await twin.client.send(
        new CreateSecretCommand({ Name: name, SecretString: randomValue() }),
      );
      await twin.client.send(new DeleteSecretCommand({ SecretId: ARN }));
      await twin.client.send(
        new DeleteSecretCommand({ SecretId: ARN, ForceDeleteWithoutRecovery: true }),
      );
      await expect(
        twin.client.send(new DescribeSecretCommand({ SecretId: ARN })),
      ).rejects.toBeInstanceOf(ResourceNotFoundException);
      await twin.client.send(new CreateSecretCommand({ Name: name }));
    });
  });

  describe('TagResource and UntagResource', () => {
    it('adds tags, overwrites the value of an existing key, and removes keys', async () => {
      const twin = await start();
      const { ARN } = await twin.client.send(
        new CreateSecretCommand({ Name: uniqueName(), Tags: [{ Key: 'a', Value: '1' }] }),
      );
      await twin.client.send(
        new TagResourceCommand({
          SecretId: ARN,
          Tags: [
            { Key: 'a', Value: '2' },
            { Key: 'b', Value: '3' },
          ],
        }),
      );
      expect((await twin.client.send(new DescribeSecretCommand({ SecretId: ARN }))).Tags).toEqual([
        { Key: 'a', Value: '2' },
        { Key: 'b', Value: '3' },
      ]);
      await twin.client.send(new UntagResourceCommand({ SecretId: ARN, TagKeys: ['a'] }));
      expect((await twin.client.send(new DescribeSecretCommand({ SecretId: ARN }))).Tags).toEqual([
        { Key: 'b', Value: '3' },
      ]);
    });
  });

  describe('GetRandomPassword', () => {
    const draw = async (
      twin: Awaited<ReturnType<typeof start>>,
      input: GetRandomPasswordCommandInput,
    ) => (await twin.client.send(new GetRandomPasswordCommand(input))).RandomPassword as string;

    it('defaults to 32 characters with every type (upper, lower, digit, punctuation) and no space', async () => {
      const twin = await start();
      for (let i = 0; i < 20; i++) {
        const password = await draw(twin, {});
        expect(password).toHaveLength(32);
        expect(password).toMatch(/[A-Z]/);
        expect(password).toMatch(/[a-z]/);
        expect(password).toMatch(/[0-9]/);
        expect(password).toMatch(/[^A-Za-z0-9]/);
        expect(password).not.toContain(' ');
      }
    });

    it('honours PasswordLength, ExcludeCharacters and each Exclude* flag', async () => {
      const twin = await start();
      for (let i = 0; i < 20; i++) {
        expect(await draw(twin, { PasswordLength: 7 })).toHaveLength(7);
        expect(await draw(twin, { ExcludeCharacters: 'abcdefghijklmnopqrstuvwxyz' })).not.toMatch(
          /[a-z]/,
        );
        expect(await draw(twin, { ExcludeNumbers: true })).not.toMatch(/[0-9]/);
        expect(await draw(twin, { ExcludePunctuation: true })).toMatch(/^[A-Za-z0-9]+$/);
        expect(await draw(twin, { ExcludeUppercase: true })).not.toMatch(/[A-Z]/);
        expect(await draw(twin, { ExcludeLowercase: true })).not.toMatch(/[a-z]/);
      }
    });

    it('IncludeSpace with RequireEachIncludedType puts a space in every password', async () => {
      const twin = await start();
      for (let i = 0; i < 20; i++) {
        expect(
          await draw(twin, {
            IncludeSpace: true,
            RequireEachIncludedType: true,
            PasswordLength: 8,
          }),
        ).toContain(' ');
      }
    });

    it('RequireEachIncludedType=false may leave types out (only one type possible when length is 1)', async () => {
      const twin = await start();
      const password = await draw(twin, { PasswordLength: 1, RequireEachIncludedType: false });
      expect(password).toHaveLength(1);
      await expect(
        twin.client.send(new GetRandomPasswordCommand({ PasswordLength: 1 })),
      ).rejects.toBeInstanceOf(InvalidParameterException);
    });

    it('refuses PasswordLength outside 1–4096 and policies that exclude every character (InvalidParameterException)', async () => {
      const twin = await start();
      for (const input of [
        { PasswordLength: 0 },
        { PasswordLength: 4097 },
        {
          ExcludeNumbers: true,
          ExcludePunctuation: true,
          ExcludeUppercase: true,
          ExcludeLowercase: true,
        },
      ]) {
        await expect(twin.client.send(new GetRandomPasswordCommand(input))).rejects.toBeInstanceOf(
          InvalidParameterException,
        );
      }
    });
  });

  describe('wire protocol', () => {
    it('answers an unknown X-Amz-Target with HTTP 400 and a JSON __type', async () => {
      const twin = await start();
      const response = await fetch(twin.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-amz-json-1.1',
          'X-Amz-Target': 'secretsmanager.Nope',
        },
        body: '{}',
      });
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toBe('application/x-amz-json-1.1');
      expect(await response.json()).toMatchObject({ __type: 'UnknownOperationException' });
    });

    it('returns timestamps as epoch seconds (numbers) in JSON', async () => {
      const clock = new ManualClock(Date.UTC(2026, 6, 1, 0, 0, 1, 500));
      const twin = await start({ clock });
      const name = uniqueName();
      await twin.client.send(new CreateSecretCommand({ Name: name, SecretString: randomValue() }));
      const response = await fetch(twin.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-amz-json-1.1',
          'X-Amz-Target': 'secretsmanager.DescribeSecret',
        },
        body: JSON.stringify({ SecretId: name }),
      });
      const body = (await response.json()) as { CreatedDate: unknown };
      expect(body.CreatedDate).toBe(Date.UTC(2026, 6, 1, 0, 0, 1, 500) / 1000);
    });

    it('reports a missing required member as ValidationException', async () => {
      const twin = await start();
      const response = await fetch(twin.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-amz-json-1.1',
          'X-Amz-Target': 'secretsmanager.GetSecretValue',
        },
        body: '{}',
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ __type: 'ValidationException' });
    });
  });
});
