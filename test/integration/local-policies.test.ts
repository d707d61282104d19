import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DeleteResourcePolicyCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetResourcePolicyCommand,
  InvalidRequestException,
  ListSecretsCommand,
  MalformedPolicyDocumentException,
  PublicPolicyException,
  PutResourcePolicyCommand,
  ResourceNotFoundException,
  UpdateSecretCommand,
  ValidateResourcePolicyCommand,
} from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import {
  randomValue,
  uniqueName,
  useLocalSecretsManager,
  useTempDirs,
} from '../helpers/localSecretsManager.js';

// Before the twins: hooks run in reverse, so the twins close before their folders go.
const tempDir = useTempDirs('rotator-policy-');
const start = useLocalSecretsManager();
const OTHER_ACCOUNT = '444455556666';

function policy(statement: Record<string, unknown>): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: '*', ...statement },
    ],
  });
}

const crossAccount = policy({ Principal: { AWS: `arn:aws:iam::${OTHER_ACCOUNT}:root` } });
const everyone = policy({ Principal: '*' });

async function policyOf(twin: Awaited<ReturnType<typeof start>>, secretId: string) {
  return (await twin.client.send(new GetResourcePolicyCommand({ SecretId: secretId })))
    .ResourcePolicy;
}

async function secretIn(twin: Awaited<ReturnType<typeof start>>): Promise<string> {
  const { ARN } = await twin.client.send(
    new CreateSecretCommand({ Name: uniqueName('policy'), SecretString: randomValue() }),
  );
  return ARN as string;
}

describe('local Secrets Manager: resource policies through the AWS SDK v3', () => {
  describe('PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy', () => {
    it('attaches a policy, returns it verbatim, and deletes it (ARN and Name in every response)', async () => {
      // Prepare
      const twin = await start();
      const arn = await secretIn(twin);
      const name = arn.split(':secret:')[1]?.slice(0, -7);
      // Act
      const put = await twin.client.send(
        new PutResourcePolicyCommand({ SecretId: arn, ResourcePolicy: crossAccount }),
      );
      const got = await twin.client.send(new GetResourcePolicyCommand({ SecretId: name }));
      const deleted = await twin.client.send(new DeleteResourcePolicyCommand({ SecretId: arn }));
      const after = await twin.client.send(new GetResourcePolicyCommand({ SecretId: arn }));
      // Assess
      expect(put).toMatchObject({ ARN: arn, Name: name });
      expect(got).toMatchObject({ ARN: arn, Name: name, ResourcePolicy: crossAccount });
      expect(deleted).toMatchObject({ ARN: arn, Name: name });
      expect(after.ResourcePolicy).toBeUndefined();
      expect(after.ARN).toBe(arn);
    });

    it('DeleteResourcePolicy succeeds on a secret without a policy', async () => {
      const twin = await start();
      const arn = await secretIn(twin);
      await expect(
        twin.client.send(new DeleteResourcePolicyCommand({ SecretId: arn })),
      ).resolves.toMatchObject({ ARN: arn });
    });

    it('a wildcard principal is accepted by default and refused with BlockPublicPolicy (PublicPolicyException)', async () => {
      const twin = await start();
      const arn = await secretIn(twin);
      const refused = twin.client.send(
        new PutResourcePolicyCommand({
          SecretId: arn,
          ResourcePolicy: everyone,
          BlockPublicPolicy: true,
        }),
      );
      await expect(refused).rejects.toBeInstanceOf(PublicPolicyException);
      await expect(refused).rejects.toThrow(/Statement 1 grants broad access/);
      expect(await policyOf(twin, arn)).toBeUndefined();
      await twin.client.send(
        new PutResourcePolicyCommand({ SecretId: arn, ResourcePolicy: everyone }),
      );
      expect(await policyOf(twin, arn)).toBe(everyone);
    });

    it('BlockPublicPolicy accepts a wildcard principal pinned by aws:PrincipalAccount, and a named account', async () => {
      const twin = await start();
      const arn = await secretIn(twin);
      const pinned = policy({
        Principal: '*',
        Condition: { StringEquals: { 'aws:PrincipalAccount': OTHER_ACCOUNT } },
      });
      for (const ResourcePolicy of [pinned, crossAccount]) {
        await expect(
          twin.client.send(
            new PutResourcePolicyCommand({
              SecretId: arn,
              ResourcePolicy,
              BlockPublicPolicy: true,
            }),
          ),
        ).resolves.toMatchObject({ ARN: arn });
      }
    });

    it.each([
      ['text that is not JSON', '{"Version": '],
      ['a policy without Statement', '{"Version":"2012-10-17"}'],
      [
        'a statement without Effect',
        JSON.stringify({ Statement: { Principal: '*', Action: '*', Resource: '*' } }),
      ],
      ['an unknown element', policy({ Principal: '*', Effects: 'Allow' })],
    ])('refuses %s with MalformedPolicyDocumentException', async (_what, ResourcePolicy) => {
      const twin = await start();
      const arn = await secretIn(twin);
      await expect(
        twin.client.send(new PutResourcePolicyCommand({ SecretId: arn, ResourcePolicy })),
      ).rejects.toBeInstanceOf(MalformedPolicyDocumentException);
    });

    it('answers ResourceNotFoundException for a secret that does not exist (all three)', async () => {
      const twin = await start();
      const SecretId = uniqueName('missing');
      for (const command of [
        new PutResourcePolicyCommand({ SecretId, ResourcePolicy: crossAccount }),
        new GetResourcePolicyCommand({ SecretId }),
        new DeleteResourcePolicyCommand({ SecretId }),
      ]) {
        // biome-ignore lint/suspicious/noExplicitAny: three command types through one send
        await expect(twin.client.send(command as any)).rejects.toBeInstanceOf(
          ResourceNotFoundException,
        );
      }
    });

    it('refuses Put and Delete on a secret scheduled for deletion (InvalidRequestException); Get still answers', async () => {
      const twin = await start();
      const arn = await secretIn(twin);
      await twin.client.send(
        new PutResourcePolicyCommand({ SecretId: arn, ResourcePolicy: crossAccount }),
      );
      await twin.client.send(new DeleteSecretCommand({ SecretId: arn }));
      await expect(
        twin.client.send(
          new PutResourcePolicyCommand({ SecretId: arn, ResourcePolicy: crossAccount }),
        ),
      ).rejects.toBeInstanceOf(InvalidRequestException);
      await expect(
        twin.client.send(new DeleteResourcePolicyCommand({ SecretId: arn })),
      ).rejects.toBeInstanceOf(InvalidRequestException);
      expect(await policyOf(twin, arn)).toBe(crossAccount);
    });

    it('reports a missing ResourcePolicy as ValidationException and one over 20,480 characters too', async () => {
      const twin = await start();
      const arn = await secretIn(twin);
      for (const body of [
        { SecretId: arn },
        { SecretId: arn, ResourcePolicy: 'x'.repeat(20_481) },
      ]) {
        const response = await fetch(twin.url, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/x-amz-json-1.1',
            'X-Amz-Target': 'secretsmanager.PutResourcePolicy',
          },
          body: JSON.stringify(body),
        });
        expect(response.status).toBe(400);
        expect(await response.json()).toMatchObject({ __type: 'ValidationException' });
      }
    });
  });

  describe('ValidateResourcePolicy', () => {
    it('passes a policy naming one account, with or without SecretId', async () => {
      const twin = await start();
      const arn = await secretIn(twin);
      for (const input of [
        { ResourcePolicy: crossAccount },
        { ResourcePolicy: crossAccount, SecretId: arn },
      ]) {
        const result = await twin.client.send(new ValidateResourcePolicyCommand(input));
        expect(result).toMatchObject({ PolicyValidationPassed: true, ValidationErrors: [] });
      }
    });

    it.each([
      ['broad access', everyone, 'BROAD_ACCESS_CHECK'],
      ['a structural error', '{"Version":"2012-10-17"}', 'SYNTAX_CHECK'],
      [
        'a deny of PutResourcePolicy to everyone (lock-out)',
        JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Deny', Principal: '*', Action: 'secretsmanager:*', Resource: '*' },
          ],
        }),
        'LOCKOUT_CHECK',
      ],
    ])('fails %s with a ValidationErrors entry', async (_what, ResourcePolicy, check) => {
      const twin = await start();
      const result = await twin.client.send(new ValidateResourcePolicyCommand({ ResourcePolicy }));
      expect(result.PolicyValidationPassed).toBe(false);
      expect(result.ValidationErrors?.map((e) => e.CheckName)).toContain(check);
      expect(result.ValidationErrors?.every((e) => (e.ErrorMessage ?? '').length > 0)).toBe(true);
    });

    it('answers MalformedPolicyDocumentException for text that is not JSON', async () => {
      const twin = await start();
      await expect(
        twin.client.send(new ValidateResourcePolicyCommand({ ResourcePolicy: 'not json' })),
      ).rejects.toBeInstanceOf(MalformedPolicyDocumentException);
    });

    it('answers ResourceNotFoundException for an unknown SecretId and InvalidRequestException for a deleted one', async () => {
      const twin = await start();
      await expect(
        twin.client.send(
          new ValidateResourcePolicyCommand({
            ResourcePolicy: crossAccount,
            SecretId: uniqueName('missing'),
          }),
        ),
      ).rejects.toBeInstanceOf(ResourceNotFoundException);
      const arn = await secretIn(twin);
      await twin.client.send(new DeleteSecretCommand({ SecretId: arn }));
      await expect(
        twin.client.send(
          new ValidateResourcePolicyCommand({ ResourcePolicy: crossAccount, SecretId: arn }),
        ),
      ).rejects.toBeInstanceOf(InvalidRequestException);
    });
  });

  describe('KmsKeyId', () => {
    it('DescribeSecret and ListSecrets return a customer managed key and omit the AWS managed key', async () => {
      const twin = await start();
      const key = `arn:aws:kms:us-east-1:${twin.accountId}:key/${randomBytes(16).toString('hex')}`;
      const custom = await twin.client.send(
        new CreateSecretCommand({
          Name: uniqueName('kms'),
          SecretString: randomValue(),
          KmsKeyId: key,
        }),
      );
      const managed = await twin.client.send(
        new CreateSecretCommand({
          Name: uniqueName('kms'),
          SecretString: randomValue(),
          KmsKeyId: 'alias/aws/secretsmanager',
        }),
      );
      expect(
        (await twin.client.send(new DescribeSecretCommand({ SecretId: custom.ARN }))).KmsKeyId,
      ).toBe(key);
      expect(
        (await twin.client.send(new DescribeSecretCommand({ SecretId: managed.ARN }))).KmsKeyId,
      ).toBeUndefined();
      const listed = await twin.client.send(
        new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['kms/'] }] }),
      );
      expect(listed.SecretList?.find((s) => s.ARN === custom.ARN)?.KmsKeyId).toBe(key);
      await twin.client.send(new UpdateSecretCommand({ SecretId: managed.ARN, KmsKeyId: key }));
      expect(
        (await twin.client.send(new DescribeSecretCommand({ SecretId: managed.ARN }))).KmsKeyId,
      ).toBe(key);
    });
  });

  describe('state file', () => {
    it('keeps the policy across a restart, and loads a state file written before policies existed', async () => {
      // Prepare
      const dir = tempDir();
      const statePath = join(dir, 'state.json');
      const masterKey = randomBytes(32);
      const first = await start({ statePath, masterKey });
      const withPolicy = await secretIn(first);
      const without = await secretIn(first);
      await first.client.send(
        new PutResourcePolicyCommand({ SecretId: withPolicy, ResourcePolicy: crossAccount }),
      );
      await first.close();
      // An older file: the same state with the field removed.
      const file = JSON.parse(readFileSync(statePath, 'utf8')) as {
        secrets: Record<string, unknown>[];
      };
      const older = {
        ...file,
        secrets: file.secrets.map(({ resourcePolicy: _, ...rest }) => rest),
      };
      const olderPath = join(dir, 'older.json');
      writeFileSync(olderPath, JSON.stringify(older));
      // Act
      const second = await start({ statePath, masterKey });
      const third = await start({ statePath: olderPath, masterKey });
      // Assess
      expect(await policyOf(second, withPolicy)).toBe(crossAccount);
      expect(await policyOf(second, without)).toBeUndefined();
      expect(await policyOf(third, withPolicy)).toBeUndefined();
    });
  });
});
