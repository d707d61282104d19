import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CloudFormationTemplate,
  evaluateWithDefaults,
  parseCloudFormationYaml,
} from '../../cli/lib/cfnYaml.js';

// The sync-target grants of every function's role (docs/sync.md#iam-the-templates-parameters),
// resolved for given parameters. template-structure.test.ts checks the rest of the roles and
// leaves statements whose Sid starts with Sync to this file.

const root = resolve(import.meta.dirname, '..', '..');

describe('template.yaml sync-target grants', () => {
  let template: CloudFormationTemplate;
  beforeAll(() => {
    template = parseCloudFormationYaml(readFileSync(join(root, 'template.yaml'), 'utf8'));
  });

  it('grants sync targets only under the declared paths, prefixes and keys, in this account, and nothing by default', () => {
    const pseudo = {
      'AWS::StackName': 'rotator',
      'AWS::Region': 'eu-west-1',
      'AWS::AccountId': '111122223333',
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
    };
    type Resolved = {
      Sid: string;
      Action: string[];
      Resource: unknown;
      Condition: Record<string, Record<string, unknown>>;
    };
    const syncStatements = (roleId: string, given: Record<string, string | string[]>) =>
      (
        evaluateWithDefaults(template, template.Resources[roleId], { ...pseudo, ...given }) as {
          Properties: { Policies: { PolicyDocument: { Statement: Resolved[] } }[] };
        }
      ).Properties.Policies.flatMap((p) => p.PolicyDocument.Statement).filter((s) =>
        s.Sid.startsWith('Sync'),
      );
    const key = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const envelopeKey =
      'arn:aws:kms:eu-west-1:111122223333:key/abcd1234-12ab-34cd-56ef-1234567890ab';
    const declared = {
      SyncParameterPaths: ['/acme/serviceA/', '/acme/serviceB/'],
      SyncObjectPrefixes: ['acme-config/services/'],
      SyncKmsKeyArns: [key],
      SyncEnvelopeKmsKeyArns: [envelopeKey],
    };
    for (const [roleId] of Object.entries(template.Resources).filter(
      ([, r]) => r.Type === 'AWS::IAM::Role',
    )) {
      // Prepare / Act
      const none = syncStatements(roleId, {});
      const keysOnly = syncStatements(roleId, { SyncKmsKeyArns: [key] });
      const all = Object.fromEntries(syncStatements(roleId, declared).map((s) => [s.Sid, s]));
      // Assess
      expect(none, `${roleId}: no sync grant by default`).toEqual([]);
      expect(keysOnly, `${roleId}: a key alone grants nothing`).toEqual([]);
      expect(Object.keys(all).sort(), roleId).toEqual([
        'SyncEnvelopeDataKeysForDeclaredObjects',
        'SyncTargetKeysThroughSsmAndS3Only',
        'SyncTargetObjectsUnderDeclaredPrefixes',
        'SyncTargetParametersUnderDeclaredPaths',
      ]);
      expect(all.SyncTargetParametersUnderDeclaredPaths).toMatchObject({
        Action: ['ssm:GetParameter', 'ssm:PutParameter'],
        Resource: [
          'arn:*:ssm:*:*:parameter/acme/serviceA/*',
          'arn:*:ssm:*:*:parameter/acme/serviceB/*',
        ],
        Condition: {
          StringEquals: {
            'aws:ResourceAccount': '111122223333',
            'aws:RequestedRegion': 'eu-west-1',
          },
        },
      });
      expect(all.SyncTargetObjectsUnderDeclaredPrefixes).toMatchObject({
        Action: ['s3:GetObject', 's3:PutObject'],
        Resource: ['arn:*:s3:::acme-config/services/*'],
        Condition: { StringEquals: { 'aws:ResourceAccount': '111122223333' } },
      });
      expect(all.SyncTargetKeysThroughSsmAndS3Only).toMatchObject({
        Action: ['kms:Encrypt', 'kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: [key],
        Condition: {
          StringEquals: {
            'kms:ViaService': ['ssm.eu-west-1.amazonaws.com', 's3.eu-west-1.amazonaws.com'],
          },
        },
      });
      expect(all.SyncEnvelopeDataKeysForDeclaredObjects).toMatchObject({
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: [envelopeKey],
        Condition: {
          StringLike: { 'kms:EncryptionContext:rotator:s3-object': ['acme-config/services/*'] },
        },
      });
    }
  });
});
