import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CloudFormationResource,
  type CloudFormationTemplate,
  evaluateWithDefaults,
  parseCloudFormationYaml,
} from '../../cli/lib/cfnYaml.js';

const root = resolve(import.meta.dirname, '..', '..');
const SECRET_ARN_WILDCARD =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation !Sub string, not a JS template.
  'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:*';

type Statement = {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};

/** A statement and the template condition it is guarded by (`!If [Cond, stmt, NoValue]`). */
interface GuardedStatement {
  statement: Statement;
  guard?: string;
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts') && !d.name.endsWith('.test.ts'))
    .map((d) => join(d.parentPath, d.name));
}

/**
 * The Secrets Manager actions the deployed code can call: every `new <X>Command(` in a file
 * that imports the Secrets Manager client, plus GetSecretValue for Powertools'
 * SecretsProvider. local/ (the twin) and cli/ (the operator tool) are not deployed.
 */
function secretsManagerActionsInCode(): Set<string> {
  const actions = new Set<string>();
  for (const file of [
    ...sourceFiles(join(root, 'shared')),
    ...sourceFiles(join(root, 'functions')),
  ]) {
    const text = readFileSync(file, 'utf8');
    if (text.includes("'@aws-sdk/client-secrets-manager'")) {
      for (const match of text.matchAll(/new ([A-Z][A-Za-z]+)Command\(/g)) {
        actions.add(`secretsmanager:${match[1]}`);
      }
    }
    if (text.includes("'@aws-lambda-powertools/parameters/secrets'")) {
      actions.add('secretsmanager:GetSecretValue');
    }
  }
  return actions;
}

function functionsOnDisk(): string[] {
  return readdirSync(join(root, 'functions'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, 'functions', d.name, 'handler.ts')))
    .map((d) => d.name)
    .sort();
}

function envOf(fn: CloudFormationResource): Record<string, unknown> {
  return (
    (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
      ?.Variables ?? {}
  );
}

function roleIdOf(fn: CloudFormationResource): string {
  const role = fn.Properties?.Role as { 'Fn::GetAtt'?: string[] } | undefined;
  return role?.['Fn::GetAtt']?.[0] ?? '';
}

function asList(value: string | string[]): string[] {
  return Array.isArray(value) ? value : [value];
}

function statementsOf(role: CloudFormationResource): GuardedStatement[] {
  const policies = (role.Properties?.Policies ?? []) as {
    PolicyDocument: { Statement: unknown[] };
  }[];
  return policies.flatMap((policy) =>
    policy.PolicyDocument.Statement.map((item): GuardedStatement => {
      const maybeIf = item as { 'Fn::If'?: [string, Statement, unknown] };
      if (maybeIf['Fn::If']) {
        const [guard, statement, otherwise] = maybeIf['Fn::If'];
        expect(otherwise, `${guard}: the else branch must be AWS::NoValue`).toEqual({
          Ref: 'AWS::NoValue',
        });
        return { statement, guard };
      }
      return { statement: item as Statement };
    }),
  );
}

describe('template.yaml', () => {
  let template: CloudFormationTemplate;
  let functions: [string, CloudFormationResource][];
  const codeUriName = (fn: CloudFormationResource) =>
    String(fn.Properties?.CodeUri).replace(/^dist\//, '');

  beforeAll(() => {
    template = parseCloudFormationYaml(readFileSync(join(root, 'template.yaml'), 'utf8'));
    functions = Object.entries(template.Resources).filter(
      ([, r]) => r.Type === 'AWS::Serverless::Function',
    );
  });

  it('is a SAM template', () => {
    expect(template.Transform).toBe('AWS::Serverless-2016-10-31');
    expect(template.AWSTemplateFormatVersion).toBe('2010-09-09');
  });

  it('has one function per functions/<name>/handler.ts and no other', () => {
    expect(functions.map(([, fn]) => codeUriName(fn)).sort()).toEqual(functionsOnDisk());
  });

  it('runs every function from our bundle on Node 22 arm64 with source maps and Powertools settings', () => {
    const globals = template.Globals?.Function ?? {};
    const globalEnv = envOf({ Type: 'Globals', Properties: globals });
    for (const [logicalId, fn] of functions) {
      const props = { ...globals, ...fn.Properties };
      const name = codeUriName(fn);
      expect(props.CodeUri, logicalId).toBe(`dist/${name}`);
      expect(props.Handler, logicalId).toBe('index.handler');
      expect(props.Runtime, logicalId).toBe('nodejs22.x');
      expect(props.Architectures, logicalId).toEqual(['arm64']);
      expect(Number(props.Timeout), logicalId).toBeGreaterThanOrEqual(30);
      expect(Number(props.MemorySize), logicalId).toBeGreaterThanOrEqual(128);
      expect(props.FunctionName, logicalId).toEqual({ 'Fn::Sub': `\${AWS::StackName}-${name}` });
      const env = {
        ...globalEnv,
        ...envOf(fn),
      };
      expect(env.NODE_OPTIONS, logicalId).toBe('--enable-source-maps');
      expect(env.POWERTOOLS_LOG_LEVEL, logicalId).toEqual({ Ref: 'LogLevel' });
      expect(env.POWERTOOLS_SERVICE_NAME, logicalId).toBe(`rotator-${name}`);
    }
  });

  it('sets only environment variables that the code reads', () => {
    const code = [...sourceFiles(join(root, 'shared')), ...sourceFiles(join(root, 'functions'))]
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    const platform = new Set(['NODE_OPTIONS', 'POWERTOOLS_LOG_LEVEL', 'POWERTOOLS_SERVICE_NAME']);
    const globalVars = Object.keys(
      envOf({ Type: 'Globals', Properties: template.Globals?.Function ?? {} }),
    );
    for (const name of globalVars.filter((v) => !platform.has(v))) {
      expect(code.includes(name), `Globals set ${name}, which no code reads`).toBe(true);
    }
    for (const [logicalId, fn] of functions) {
      const vars = Object.keys(envOf(fn));
      for (const name of vars.filter((v) => !platform.has(v))) {
        expect(code.includes(name), `${logicalId} sets ${name}, which no code reads`).toBe(true);
      }
    }
  });

  it('gives every function an explicit log group with a retention parameter', () => {
    for (const [logicalId, fn] of functions) {
      const name = codeUriName(fn);
      const group = Object.values(template.Resources).find(
        (r) =>
          r.Type === 'AWS::Logs::LogGroup' &&
          JSON.stringify(r.Properties?.LogGroupName) ===
            JSON.stringify({ 'Fn::Sub': `/aws/lambda/\${AWS::StackName}-${name}` }),
      );
      expect(group, `${logicalId} log group`).toBeDefined();
      expect(group?.Properties?.RetentionInDays).toEqual({ Ref: 'LogRetentionInDays' });
    }
  });

  it('lets Secrets Manager invoke every function, only from this account', () => {
    const permissions = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::Lambda::Permission',
    );
    for (const [logicalId] of functions) {
      const permission = permissions.find(
        (p) =>
          JSON.stringify(p.Properties?.FunctionName) ===
          JSON.stringify({ 'Fn::GetAtt': [logicalId, 'Arn'] }),
      );
      expect(permission, `${logicalId} invoke permission`).toBeDefined();
      expect(permission?.Properties).toMatchObject({
        Action: 'lambda:InvokeFunction',
        Principal: 'secretsmanager.amazonaws.com',
        SourceAccount: { Ref: 'AWS::AccountId' },
      });
      expect(permission?.Condition, 'the permission is unconditional').toBeUndefined();
    }
  });

  it('outputs every function ARN', () => {
    const outputs = Object.values(template.Outputs ?? {}).map((o) => JSON.stringify(o.Value));
    for (const [logicalId] of functions) {
      expect(outputs).toContain(JSON.stringify({ 'Fn::GetAtt': [logicalId, 'Arn'] }));
    }
  });

  describe('IAM', () => {
    it('grants only Secrets Manager actions the code calls, and no wildcard action', () => {
      const called = secretsManagerActionsInCode();
      expect(called.size).toBeGreaterThan(0);
      for (const [roleId, role] of Object.entries(template.Resources).filter(
        ([, r]) => r.Type === 'AWS::IAM::Role',
      )) {
        for (const { statement } of statementsOf(role)) {
          expect(statement.Effect).toBe('Allow');
          for (const action of asList(statement.Action)) {
            expect(action, `${roleId}: wildcard action`).not.toMatch(/\*/);
            if (action.startsWith('secretsmanager:')) {
              expect([...called], `${roleId} grants ${action}, which no code calls`).toContain(
                action,
              );
            }
          }
        }
      }
    });

    it('scopes secret access to secrets that name this function as their rotator', () => {
      for (const [logicalId, fn] of functions) {
        const name = codeUriName(fn);
        const roleId = roleIdOf(fn);
        const role = template.Resources[roleId];
        expect(role?.Type, `${logicalId} has its own role`).toBe('AWS::IAM::Role');
        const owners = functions.filter(
          ([, other]) =>
            JSON.stringify(other.Properties?.Role) === JSON.stringify(fn.Properties?.Role),
        );
        expect(owners, `${roleId} is shared`).toHaveLength(1);
        const statements = statementsOf(role as CloudFormationResource);
        const rotate = statements.filter(({ statement }) =>
          asList(statement.Action).includes('secretsmanager:PutSecretValue'),
        );
        expect(rotate).toHaveLength(1);
        const [only] = rotate;
        expect(only?.guard).toBeUndefined();
        expect(only?.statement.Resource).toEqual({ 'Fn::Sub': SECRET_ARN_WILDCARD });
        expect(
          only?.statement.Condition?.StringEquals?.[
            'secretsmanager:resource/AllowRotationLambdaArn'
          ],
        ).toEqual({
          'Fn::Sub': `arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:\${AWS::StackName}-${name}`,
        });
        expect(asList(only?.statement.Action ?? []).sort()).toEqual([
          'secretsmanager:DescribeSecret',
          'secretsmanager:GetSecretValue',
          'secretsmanager:PutSecretValue',
          'secretsmanager:UpdateSecretVersionStage',
        ]);

        for (const { statement, guard } of statements) {
          const actions = asList(statement.Action);
          const where = `${roleId} ${statement.Sid ?? actions.join(',')}`;
          const secretActions = actions.filter((a) => a.startsWith('secretsmanager:'));
          if (statement.Resource === '*') {
            // Resource "*" only where the API has no resource: GetRandomPassword and the
            // ENI calls Lambda makes for VPC functions (the latter only with a VPC).
            const ec2 = actions.every((a) => a.startsWith('ec2:'));
            const random = actions.every((a) => a === 'secretsmanager:GetRandomPassword');
            const xray = actions.every(
              (a) => a === 'xray:PutTraceSegments' || a === 'xray:PutTelemetryRecords',
            );
            // BatchGetSecretValue reads nothing by itself: each secret in it also needs
            // GetSecretValue, which only the statements checked here grant.
            const batch = actions.every((a) => a === 'secretsmanager:BatchGetSecretValue');
            expect(random || ec2 || xray || batch, `${where}: Resource "*"`).toBe(true);
            if (batch) expect(guard, where).toMatch(/^Has\w+AdminSecrets$/);
            if (ec2) expect(guard, where).toBe('HasVpc');
            if (xray) expect(guard, where).toBe('TracingActive');
            // Only a function that asks the service for passwords may call it.
            if (random) expect(guard, where).toBe('UsePasswordService');
            continue;
          }
          // The role's function, by the logical-id prefix its resources share.
          const id = roleId.replace(/Role$/, '');
          if (secretActions.length > 0 && statement !== only?.statement) {
            // Any other secret access reads the admin secrets of the function's own parameter
            // (no function may read another's admin secrets), and only when given.
            expect(guard, where).toBe(`Has${id}AdminSecrets`);
            expect(statement.Resource, where).toEqual({ Ref: `${id}AdminSecretArns` });
            expect(secretActions.sort(), where).toEqual([
              'secretsmanager:DescribeSecret',
              'secretsmanager:GetSecretValue',
            ]);
          }
          if (statement.Sid?.startsWith('Sync')) {
            // Sync targets: checked resolved in template-sync-grants.test.ts.
            expect(guard, where).toMatch(/^HasSync/);
            continue;
          }
          const viaSsm = statement.Condition?.StringEquals?.['kms:ViaService'];
          if (statement.Sid === 'ReadFreezeParameter') {
            // The stack-wide freeze declaration: that one parameter, read only, when named.
            expect(guard, where).toBe('HasFreezeParameter');
            expect(actions, where).toEqual(['ssm:GetParameter']);
            expect(statement.Resource, where).toEqual({
              'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter\${FreezeParameterName}`,
            });
            continue;
          }
          if (
            actions.some((a) => a.startsWith('ssm:')) ||
            JSON.stringify(viaSsm ?? '').includes('ssm.')
          ) {
            // SSM-kept declarations: read, and decrypt through SSM, only under the declared path.
            expect(guard, where).toBe(`Has${id}DeclarationParameterPath`);
            const underPath = {
              'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter\${${id}DeclarationParameterPath}*`,
            };
            if (actions.includes('ssm:GetParameter')) {
              expect(actions, where).toEqual(['ssm:GetParameter']);
              expect(statement.Resource, where).toEqual(underPath);
            } else {
              expect(actions, where).toEqual(['kms:Decrypt']);
              expect(
                (statement.Condition as Record<string, Record<string, unknown>>)?.StringLike?.[
                  'kms:EncryptionContext:PARAMETER_ARN'
                ],
                where,
              ).toEqual(underPath);
            }
            continue;
          }
          if (actions.some((a) => a.startsWith('kms:'))) {
            // The rotated secrets' key, or the admin secrets' own key (MasterSecretKmsKeyArn).
            const adminKey = guard === `${id}AdminSecretsUseOwnKey`;
            if (!adminKey) expect(guard, where).toBe('HasKmsKey');
            expect(statement.Resource, where).toEqual({
              Ref: adminKey ? 'AdminSecretsKmsKeyArn' : 'KmsKeyArn',
            });
            if (adminKey) expect(actions, where).toEqual(['kms:Decrypt']);
            expect(statement.Condition?.StringEquals?.['kms:ViaService'], where).toEqual({
              // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation !Sub string.
              'Fn::Sub': 'secretsmanager.${AWS::Region}.amazonaws.com',
            });
          }
          if (actions.some((a) => a.startsWith('logs:'))) {
            expect(statement.Resource, where).toMatchObject({
              'Fn::GetAtt': [expect.any(String), 'Arn'],
            });
          }
        }
      }
    });

    it('builds the rotator ARN from the fixed function name, not from the function (no cycle)', () => {
      for (const [roleId, role] of Object.entries(template.Resources).filter(
        ([, r]) => r.Type === 'AWS::IAM::Role',
      )) {
        const text = JSON.stringify(role);
        for (const [logicalId] of functions) {
          expect(text, `${roleId} references ${logicalId}`).not.toContain(`"${logicalId}"`);
        }
      }
    });
  });

  it('resolves to the least privilege for the parameters given', () => {
    const pseudo = {
      'AWS::StackName': 'rotator',
      'AWS::Region': 'eu-west-1',
      'AWS::AccountId': '111122223333',
      'AWS::Partition': 'aws',
    };
    const sids = (roleId: string, given: Record<string, string | string[]>) => {
      const role = evaluateWithDefaults(template, template.Resources[roleId], {
        ...pseudo,
        ...given,
      }) as {
        Properties: { Policies: { PolicyDocument: { Statement: { Sid: string }[] } }[] };
      };
      return role.Properties.Policies.flatMap((p) => p.PolicyDocument.Statement.map((s) => s.Sid));
    };
    expect(sids('PostgresRole', {})).toEqual(['Logs', 'RotateOnlySecretsNamingThisFunction']);
    const everything = {
      SubnetIds: ['subnet-1'],
      SecurityGroupIds: ['sg-1'],
      PasswordSource: 'service',
      KmsKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      PostgresAdminSecretArns: ['arn:aws:secretsmanager:eu-west-1:111122223333:secret:rds-admin-*'],
      AdminSecretsKmsKeyArn:
        'arn:aws:kms:eu-west-1:111122223333:key/abcd1234-12ab-34cd-56ef-1234567890ab',
    };
    expect(sids('PostgresRole', everything)).toEqual([
      'Logs',
      'RotateOnlySecretsNamingThisFunction',
      'RandomPasswordHasNoResource',
      'ReadAdminSecrets',
      'ReadAdminSecretsInOneCall',
      'AdminSecretsKeyThroughSecretsManagerOnly',
      'CustomerManagedKeyThroughSecretsManagerOnly',
      'VpcNetworkInterfaces',
    ]);
    // Declarations kept in SSM need the read and the decrypt, under the declared path only.
    expect(sids('ApikeyRole', everything)).not.toContain('ReadProviderDeclarations');
    expect(
      sids('ApikeyRole', { ...everything, ApikeyDeclarationParameterPath: '/rotator/providers/' }),
    ).toEqual(
      expect.arrayContaining([
        'ReadProviderDeclarations',
        'DecryptProviderDeclarationsThroughSsmOnly',
      ]),
    );
    for (const other of ['ExampleRole', 'MysqlRole', 'ApikeyRole', 'RedisRole']) {
      expect(
        sids(other, everything),
        `${other} may not read the PostgreSQL function's admin secrets, nor use their key`,
      ).not.toContain('ReadAdminSecrets');
      expect(sids(other, everything)).not.toContain('ReadAdminSecretsInOneCall');
      expect(sids(other, everything)).not.toContain('AdminSecretsKeyThroughSecretsManagerOnly');
    }
    const vpc = (given: Record<string, string | string[]>) =>
      evaluateWithDefaults(
        template,
        { VpcConfig: template.Globals?.Function?.VpcConfig },
        { ...pseudo, ...given },
      );
    expect(vpc({})).toEqual({});
    expect(vpc(everything)).toEqual({
      VpcConfig: { SubnetIds: ['subnet-1'], SecurityGroupIds: ['sg-1'] },
    });
  });

  it('places functions in a VPC only when subnets are given', () => {
    const vpc = template.Globals?.Function?.VpcConfig as { 'Fn::If': [string, unknown, unknown] };
    expect(vpc['Fn::If'][0]).toBe('HasVpc');
    expect(vpc['Fn::If'][2]).toEqual({ Ref: 'AWS::NoValue' });
    expect(template.Resources.SecretsManagerEndpoint?.Condition).toBe('CreateEndpoint');
  });

  it("gives the endpoint its own subnets (one per AZ), a private-DNS switch and the partition's service name", () => {
    const endpoint = (given: Record<string, string | string[]>, partition = 'aws') =>
      evaluateWithDefaults(template, template.Resources.SecretsManagerEndpoint?.Properties, {
        'AWS::Region': 'eu-west-1',
        'AWS::Partition': partition,
        SubnetIds: ['subnet-a1', 'subnet-a2'],
        VpcId: 'vpc-1',
        SecretsManagerEndpointSecurityGroup: 'sg-endpoint',
        ...given,
      }) as Record<string, unknown>;
    expect(endpoint({})).toMatchObject({
      VpcEndpointType: 'Interface',
      PrivateDnsEnabled: true,
      SubnetIds: ['subnet-a1', 'subnet-a2'],
      ServiceName: 'com.amazonaws.eu-west-1.secretsmanager',
    });
    expect(
      endpoint({ EndpointSubnetIds: ['subnet-a1', 'subnet-b1'], EndpointPrivateDns: 'false' }),
    ).toMatchObject({ PrivateDnsEnabled: false, SubnetIds: ['subnet-a1', 'subnet-b1'] });
    expect(endpoint({}, 'aws-cn').ServiceName).toBe('cn.com.amazonaws.eu-west-1.secretsmanager');
  });

  it('refuses a VPC without security groups and an endpoint without its network, with documented rule functions only', () => {
    const rules = template.Rules as Record<
      string,
      { RuleCondition: unknown; Assertions: unknown[] }
    >;
    expect(JSON.stringify(rules)).not.toContain('Fn::Join');
    expect(rules.VpcNeedsSecurityGroups?.RuleCondition).toEqual({
      'Fn::Not': [{ 'Fn::EachMemberEquals': [{ Ref: 'SubnetIds' }, ''] }],
    });
    expect(JSON.stringify(rules.VpcNeedsSecurityGroups?.Assertions)).toContain('SecurityGroupIds');
  });

  it('accepts only the 1-24 hour rotation windows the service allows, and keeps the example secret on stack deletion rules', () => {
    const window = new RegExp(String(template.Parameters?.ExampleWindow?.AllowedPattern));
    for (const ok of ['1h', '3h', '9h', '10h', '19h', '24h']) expect(ok, ok).toMatch(window);
    for (const bad of ['0h', '25h', '99h', '01h', '3', 'h']) expect(bad, bad).not.toMatch(window);
    const secret = template.Resources.ExampleSecret as Record<string, unknown>;
    expect(secret.DeletionPolicy).toBe('Delete');
    expect(secret.UpdateReplacePolicy).toBe('Delete');
  });

  it('makes the example rotation schedule wait for the endpoint when the stack creates one', () => {
    const schedule = template.Resources.ExampleRotationSchedule as Record<string, unknown>;
    expect(schedule.Metadata).toEqual({
      WaitsFor: {
        'Fn::If': ['CreateEndpoint', { Ref: 'SecretsManagerEndpoint' }, { Ref: 'AWS::NoValue' }],
      },
    });
  });

  it('makes the example rotation schedule wait for the invoke permission and not rotate on deploy', () => {
    const schedules = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::SecretsManager::RotationSchedule',
    );
    expect(schedules.length).toBeGreaterThan(0);
    for (const schedule of schedules) {
      expect(schedule.Condition).toBe('CreateExample');
      const fnId = roleIdOf({
        Type: '',
        Properties: { Role: schedule.Properties?.RotationLambdaARN },
      });
      const permissionId = Object.entries(template.Resources).find(
        ([, r]) =>
          r.Type === 'AWS::Lambda::Permission' &&
          JSON.stringify(r.Properties?.FunctionName) ===
            JSON.stringify({ 'Fn::GetAtt': [fnId, 'Arn'] }),
      )?.[0];
      expect(asList(schedule.DependsOn ?? [])).toContain(permissionId);
      expect(schedule.Properties).toMatchObject({
        RotateImmediatelyOnUpdate: false,
        RotationRules: { ScheduleExpression: expect.anything(), Duration: expect.anything() },
      });
    }
  });

  describe('alerting, tracing and publishing (docs/deploy.md)', () => {
    const topic = {
      'Fn::If': ['CreateAlarmTopic', { Ref: 'AlarmTopic' }, { Ref: 'AlarmTopicArn' }],
    };

    it("pages on Secrets Manager's documented rotation-failure service events", () => {
      const rule = template.Resources.RotationFailedRule;
      expect(rule?.Type).toBe('AWS::Events::Rule');
      expect(rule?.Properties?.EventPattern).toEqual({
        source: ['aws.secretsmanager'],
        'detail-type': ['AWS Service Event via CloudTrail'],
        detail: {
          eventSource: ['secretsmanager.amazonaws.com'],
          eventName: ['RotationFailed', 'TestRotationFailed', 'RotationAbandoned'],
        },
      });
      expect(rule?.Properties?.Targets).toEqual([{ Id: 'alarm-topic', Arn: topic }]);
      const policy = JSON.stringify(template.Resources.AlarmTopicPolicy?.Properties);
      expect(policy).toContain('events.amazonaws.com');
      expect(policy).toContain('RotationFailedRule');
    });

    it("alarms on every function's Errors to the same topic, and exports every function ARN", () => {
      for (const [logicalId] of functions) {
        const id = logicalId.replace(/Function$/, '');
        const alarm = template.Resources[`${id}ErrorsAlarm`];
        expect(alarm?.Type, `${id}ErrorsAlarm`).toBe('AWS::CloudWatch::Alarm');
        expect(alarm?.Properties).toMatchObject({
          Namespace: 'AWS/Lambda',
          MetricName: 'Errors',
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId } }],
          AlarmActions: [topic],
        });
        expect(template.Outputs?.[`${id}FunctionArn`]?.Export).toEqual({
          Name: { 'Fn::Sub': `\${AWS::StackName}-${id}FunctionArn` },
        });
      }
      expect(template.Resources.AlarmEmailSubscription?.Condition).toBe('SubscribeAlarmEmail');
    });

    it('traces and reserves concurrency only when asked', () => {
      const fn = template.Globals?.Function as Record<string, unknown>;
      expect(fn.Tracing).toEqual({
        'Fn::If': ['TracingActive', 'Active', { Ref: 'AWS::NoValue' }],
      });
      expect(fn.ReservedConcurrentExecutions).toEqual({
        'Fn::If': [
          'HasReservedConcurrency',
          { Ref: 'ReservedConcurrency' },
          { Ref: 'AWS::NoValue' },
        ],
      });
    });

    it('carries the Serverless Application Repository metadata, with a licence the package states', () => {
      const app = (template.Metadata as Record<string, Record<string, string>>)[
        'AWS::ServerlessRepo::Application'
      ];
      const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
        version: string;
        license: string;
      };
      expect(app?.SemanticVersion).toBe(pkg.version);
      expect(app?.SpdxLicenseId).toBe(pkg.license);
      for (const file of [app?.LicenseUrl, app?.ReadmeUrl]) {
        expect(existsSync(join(root, String(file))), String(file)).toBe(true);
      }
    });
  });
});

describe('samconfig.toml', () => {
  it('has working defaults for build, deploy and validate', () => {
    const config = parseToml(readFileSync(join(root, 'samconfig.toml'), 'utf8')) as {
      version: number;
      default: Record<string, { parameters: Record<string, unknown> }>;
    };
    expect(config.version).toBe(0.1);
    expect(config.default.build?.parameters).toBeDefined();
    expect(config.default.validate?.parameters.lint).toBe(true);
    expect(config.default.deploy?.parameters).toMatchObject({
      stack_name: 'rotator',
      resolve_s3: true,
      confirm_changeset: true,
      capabilities: 'CAPABILITY_IAM',
    });
  });

  it('has a non-interactive environment for CI/CD deploys (sam deploy --config-env ci)', () => {
    const config = parseToml(readFileSync(join(root, 'samconfig.toml'), 'utf8')) as Record<
      string,
      Record<string, { parameters: Record<string, unknown> }>
    >;
    expect(config.ci?.deploy?.parameters).toMatchObject({
      stack_name: 'rotator',
      confirm_changeset: false,
      capabilities: 'CAPABILITY_IAM',
    });
    expect(String(config.ci?.deploy?.parameters.parameter_overrides)).not.toBe('');
  });
});
