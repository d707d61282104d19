import { describe, expect, it } from 'vitest';
import {
  broadAccessStatements,
  coversAction,
  describeStatement,
  isAwsManagedKey,
  lockoutStatements,
  otherAccountGrants,
  type PolicyDocument,
  parseResourcePolicy,
} from '../../shared/secrets/resourcePolicy.js';

const OWN = '111122223333';
const OTHER = '444455556666';

function statement(fields: Record<string, unknown>): Record<string, unknown> {
  return {
    Effect: 'Allow',
    Principal: { AWS: OTHER },
    Action: 'secretsmanager:GetSecretValue',
    Resource: '*',
    ...fields,
  };
}

function documentOf(...statements: Record<string, unknown>[]): PolicyDocument {
  const reading = parseResourcePolicy(
    JSON.stringify({ Version: '2012-10-17', Statement: statements }),
  );
  if (reading.kind !== 'valid') throw new Error(`not valid: ${JSON.stringify(reading)}`);
  return reading.document;
}

describe('parseResourcePolicy: IAM policy grammar for a resource policy', () => {
  it('normalises single values to lists and keeps Sid, NotPrincipal and NotAction', () => {
    const doc = documentOf(statement({ Sid: 'One' }), {
      Effect: 'Deny',
      NotPrincipal: { AWS: [OWN] },
      NotAction: ['secretsmanager:Get*'],
      NotResource: '*',
    });
    expect(doc.statements[0]).toMatchObject({
      index: 1,
      sid: 'One',
      principals: [{ type: 'AWS', value: OTHER }],
      actions: ['secretsmanager:GetSecretValue'],
      notPrincipal: false,
      notAction: false,
    });
    expect(doc.statements[1]).toMatchObject({
      index: 2,
      effect: 'Deny',
      notPrincipal: true,
      notAction: true,
    });
  });

  it('accepts a single statement object, Version 2008-10-17 and no Version', () => {
    for (const policy of [
      { Version: '2008-10-17', Statement: statement({}) },
      { Statement: [statement({})] },
    ]) {
      expect(parseResourcePolicy(JSON.stringify(policy)).kind).toBe('valid');
    }
  });

  it('says not-json for text that does not parse', () => {
    expect(parseResourcePolicy('{').kind).toBe('not-json');
  });

  it.each([
    ['a JSON array', [], 'must be a JSON object'],
    ['no Statement', { Version: '2012-10-17' }, 'Statement is required'],
    ['an empty Statement list', { Statement: [] }, 'Statement is required'],
    [
      'an unknown top-level element',
      { Statement: [statement({})], Extra: 1 },
      'Unknown element Extra',
    ],
    [
      'an unknown Version',
      { Version: '2020-01-01', Statement: [statement({})] },
      'Version must be',
    ],
    ['a statement that is a string', { Statement: ['x'] }, 'Statement 1: must be an object'],
    [
      'Effect Permit',
      { Statement: [statement({ Effect: 'Permit' })] },
      'Effect must be Allow or Deny',
    ],
    [
      'no principal',
      { Statement: [statement({ Principal: undefined })] },
      'Principal or NotPrincipal is required',
    ],
    ['Principal and NotPrincipal', { Statement: [statement({ NotPrincipal: '*' })] }, 'not both'],
    [
      'a principal type that does not exist',
      { Statement: [statement({ Principal: { User: 'x' } })] },
      'must be one of AWS',
    ],
    [
      'an empty principal object',
      { Statement: [statement({ Principal: {} })] },
      'must be "*" or an object',
    ],
    [
      'no Action',
      { Statement: [statement({ Action: undefined })] },
      'Action or NotAction is required',
    ],
    [
      'an action without a service',
      { Statement: [statement({ Action: 'GetSecretValue' })] },
      'not a valid action',
    ],
    [
      'an empty action list',
      { Statement: [statement({ Action: [] })] },
      'must be a string or a list',
    ],
    [
      'no Resource',
      { Statement: [statement({ Resource: undefined })] },
      'Resource or NotResource is required',
    ],
    [
      'a Condition that is a list',
      { Statement: [statement({ Condition: [] })] },
      'Condition must be an object',
    ],
    [
      'a Condition operator without keys',
      { Statement: [statement({ Condition: { StringEquals: {} } })] },
      'must map condition keys',
    ],
    [
      'a Condition value that is an object',
      { Statement: [statement({ Condition: { StringEquals: { 'aws:x': {} } } })] },
      'must be a value or a list',
    ],
    [
      'an unknown statement element',
      { Statement: [statement({ Effects: 'Allow' })] },
      'unknown element Effects',
    ],
  ])('reports %s', (_what, policy, problem) => {
    const reading = parseResourcePolicy(JSON.stringify(policy));
    expect(reading.kind).toBe('invalid');
    expect(reading.kind === 'invalid' ? reading.problems.join(' ') : '').toContain(problem);
  });
});

describe('broad access, lock-out and cross-account grants', () => {
  it.each([
    ['"*"', { Principal: '*' }, true],
    ['{"AWS":"*"}', { Principal: { AWS: '*' } }, true],
    ['a role ARN in any account', { Principal: { AWS: 'arn:aws:iam::*:role/x' } }, true],
    ['NotPrincipal', { Principal: undefined, NotPrincipal: { AWS: OWN } }, true],
    [
      '"*" pinned by aws:PrincipalOrgID',
      { Principal: '*', Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abc' } } },
      false,
    ],
    [
      '"*" with a wildcard in the pinning value',
      {
        Principal: '*',
        Condition: { StringLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/x' } },
      },
      true,
    ],
    [
      '"*" with an IfExists condition',
      { Principal: '*', Condition: { StringEqualsIfExists: { 'aws:SourceAccount': OWN } } },
      true,
    ],
    [
      '"*" with a condition on the time only',
      { Principal: '*', Condition: { DateLessThan: { 'aws:CurrentTime': '2030-01-01' } } },
      true,
    ],
    ['one named account', {}, false],
    ['a service principal', { Principal: { Service: 'lambda.amazonaws.com' } }, false],
    ['a Deny with "*"', { Effect: 'Deny', Principal: '*' }, false],
  ])('%s → broad: %s', (_what, fields, broad) => {
    expect(broadAccessStatements(documentOf(statement(fields))).length > 0).toBe(broad);
  });

  it('finds a Deny of PutResourcePolicy to everyone without condition as a lock-out', () => {
    const deny = { Effect: 'Deny', Principal: '*', Action: 'secretsmanager:*Policy' };
    expect(lockoutStatements(documentOf(statement(deny)))).toHaveLength(1);
    expect(
      lockoutStatements(
        documentOf(statement({ ...deny, Action: 'secretsmanager:GetSecretValue' })),
      ),
    ).toHaveLength(0);
    expect(
      lockoutStatements(
        documentOf(statement({ ...deny, Condition: { Bool: { 'aws:SecureTransport': 'false' } } })),
      ),
    ).toHaveLength(0);
  });

  it.each([
    ['secretsmanager:GetSecretValue', true],
    ['secretsmanager:get*', true],
    ['secretsmanager:*', true],
    ['*', true],
    ['secretsmanager:GetSecretValu?', true],
    ['secretsmanager:DescribeSecret', false],
    ['kms:*', false],
  ])('Action %s covers GetSecretValue: %s', (action, covered) => {
    const [s] = documentOf(statement({ Action: action })).statements;
    expect(s && coversAction(s, 'secretsmanager:GetSecretValue')).toBe(covered);
  });

  it('NotAction covers every action it does not list', () => {
    const [s] = documentOf(
      statement({ Action: undefined, NotAction: 'secretsmanager:DeleteSecret' }),
    ).statements;
    expect(s && coversAction(s, 'secretsmanager:GetSecretValue')).toBe(true);
    expect(s && coversAction(s, 'secretsmanager:DeleteSecret')).toBe(false);
  });

  it('lists the other accounts an Allow grants a read to: ids, root and role ARNs, wildcards; not its own account or services', () => {
    const doc = documentOf(
      statement({
        Principal: {
          AWS: [
            OTHER,
            `arn:aws:iam::${OTHER}:role/reader`,
            OWN,
            `arn:aws:sts::777788889999:assumed-role/r/s`,
          ],
        },
      }),
      statement({ Principal: { Service: 'ec2.amazonaws.com' } }),
      statement({ Principal: '*', Action: 'secretsmanager:DescribeSecret' }),
      statement({ Effect: 'Deny', Principal: { AWS: '999988887777' } }),
    );
    expect(
      otherAccountGrants(doc, 'secretsmanager:GetSecretValue', OWN).map((g) => g.account),
    ).toEqual([OTHER, '777788889999']);
    expect(
      otherAccountGrants(doc, 'secretsmanager:DescribeSecret', OWN).map((g) => g.account),
    ).toEqual(['*']);
  });

  it('describes a statement in one line without its Resource', () => {
    const [s] = documentOf(
      statement({
        Principal: { AWS: OTHER, Service: 'x.amazonaws.com' },
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Condition: { StringEquals: { 'aws:SourceVpc': 'vpc-1' } },
      }),
    ).statements;
    expect(s && describeStatement(s)).toBe(
      `Allow AWS ${OTHER}, Service x.amazonaws.com → secretsmanager:GetSecretValue, secretsmanager:DescribeSecret (when aws:SourceVpc)`,
    );
  });
});

describe('isAwsManagedKey', () => {
  it.each([
    [undefined, true],
    ['', true],
    ['alias/aws/secretsmanager', true],
    [`arn:aws:kms:eu-west-1:${OWN}:alias/aws/secretsmanager`, true],
    ['alias/my-key', false],
    [`arn:aws:kms:eu-west-1:${OWN}:key/1234abcd-12ab-34cd-56ef-1234567890ab`, false],
  ])('%s → %s', (key, managed) => {
    expect(isAwsManagedKey(key)).toBe(managed);
  });
});
