import { randomBytes } from 'node:crypto';
import { GetPolicyCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  DescribeSecretCommand,
  GetResourcePolicyCommand,
  GetSecretValueCommand,
  InvalidRequestException,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/rotator.js';
import { captureOutput } from '../helpers/cliOutput.js';
import { unreachableProber } from '../helpers/probers.js';

const ACCOUNT = '111122223333';
const SECRET_ARN = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:prod/db-AbCdEf`;
const FUNCTION_ARN = `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:rotator-postgres`;
/** A VPC endpoint: a command that forgot it would reach the public endpoint instead. */
const ENDPOINT = 'https://vpce-0abc-1234.secretsmanager.eu-west-1.vpce.amazonaws.com';
const GLOBALS = ['--endpoint-url', ENDPOINT, '--region', 'eu-west-1', '--profile', 'ops'];
const ENV = { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' };
const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const id = (c: string) => c.repeat(32);

/** Every suggested command in a text: `aws …` and `npx rotator …`, up to a comment or `&&`. */
function suggested(text: string): string[] {
  return [...text.matchAll(/(?:aws (?:secretsmanager|lambda)|npx rotator) [^#&\n]*/g)].map((m) =>
    m[0].trim(),
  );
}

describe('operator CLI polish (mocked AWS)', () => {
  const sm = mockClient(SecretsManagerClient);
  const lambda = mockClient(LambdaClient);
  afterEach(() => {
    sm.reset();
    lambda.reset();
  });

  function describeSecret(overrides: Record<string, unknown> = {}): void {
    sm.on(DescribeSecretCommand).resolves({
      ARN: SECRET_ARN,
      Name: 'prod/db',
      RotationEnabled: true,
      RotationLambdaARN: FUNCTION_ARN,
      VersionIdsToStages: { [id('a')]: ['AWSCURRENT'] },
      ...overrides,
    });
    sm.on(ListSecretVersionIdsCommand).resolves({ Versions: [] });
    sm.on(GetResourcePolicyCommand).resolves({});
    sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({
        engine: 'postgres',
        host: 'db.internal',
        username: 'app',
        password: randomBytes(18).toString('base64url'),
      }),
    });
  }

  async function run(args: string[]) {
    const out = captureOutput();
    const code = await main(args, {
      out,
      env: ENV,
      prober: unreachableProber,
      context: (ctx) => ({ ...ctx, now: () => NOW }),
    });
    return { code, text: out.text() };
  }

  it('repeats --endpoint-url, --region and --profile in every suggested command, but no Secrets Manager endpoint in aws lambda ones', async () => {
    describeSecret({ RotationEnabled: false, RotationLambdaARN: FUNCTION_ARN });
    lambda.on(GetPolicyCommand).resolves({ Policy: JSON.stringify({ Statement: [] }) });

    const { text } = await run(['doctor', 'prod/db', ...GLOBALS]);

    const commands = suggested(text);
    expect(commands.length).toBeGreaterThanOrEqual(3);
    for (const command of commands) {
      expect(command, command).toContain('--region eu-west-1');
      expect(command, command).toContain('--profile ops');
      if (command.startsWith('aws lambda')) expect(command).not.toContain('--endpoint-url');
      else expect(command, command).toContain(`--endpoint-url ${ENDPOINT}`);
    }
    expect(commands.some((c) => c.startsWith('aws lambda add-permission'))).toBe(true);
  });

  it('repeats them in the recovery commands of a refused rotate, shell-quoted', async () => {
    describeSecret({
      Name: 'prod/db one',
      VersionIdsToStages: { [id('a')]: ['AWSCURRENT'], [id('p')]: ['AWSPENDING'] },
    });
    sm.on(RotateSecretCommand).rejects(
      new InvalidRequestException({
        message: "A previous rotation isn't complete. That rotation will be reattempted.",
        $metadata: {},
      }),
    );

    const { code, text } = await run(['rotate', 'prod/db one', ...GLOBALS]);

    expect(code).toBe(1);
    expect(text).toContain(
      `npx rotator unstick 'prod/db one' --endpoint-url ${ENDPOINT} --region eu-west-1 --profile ops`,
    );
  });

  it('says an --endpoint-url that is not a URL is invalid (exit 2), not that credentials are missing', async () => {
    const { code, text } = await run(['status', '--endpoint-url', 'not-a-url']);
    expect(code).toBe(2);
    expect(text).toContain('--endpoint-url "not-a-url" is not a valid endpoint URL');
    expect(text).not.toContain('credentials');
    const schemeless = await run(['status', '--endpoint-url', 'localhost:4599']);
    expect(schemeless.text).toContain('no http:// or https:// scheme');
  });

  it('refuses --concurrency, --per-target and --max-per-window below 1 or not whole (exit 2), instead of a run that never starts', async () => {
    for (const [option, value] of [
      ['--concurrency', '0.5'],
      ['--per-target', '0.9'],
      ['--concurrency', '2.5'],
    ] as const) {
      const { code, text } = await run(['rotate', '--all', option, value, ...GLOBALS]);
      expect(code, `${option} ${value}`).toBe(2);
      expect(text).toContain(`${option} must be a whole number of at least 1`);
    }
    const spread = await run(['schedule', '--spread', '--max-per-window', '0.5', ...GLOBALS]);
    expect(spread.code).toBe(2);
    expect(spread.text).toContain('--max-per-window must be a whole number of at least 1');
  });

  it('status says "rotating" only where rotation is enabled, and warns on a stray AWSPENDING where it is off', async () => {
    const entry = (name: string, enabled: boolean) => ({
      ARN: `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:${name}-AbCdEf`,
      Name: name,
      RotationEnabled: enabled,
      RotationLambdaARN: FUNCTION_ARN,
      SecretVersionsToStages: { [id('c')]: ['AWSCURRENT'], [id('p')]: ['AWSPENDING'] },
    });
    sm.on(ListSecretsCommand).resolves({
      SecretList: [entry('db/running', true), entry('db/off', false)],
    });
    // Both pending versions are four minutes old: young enough to be a running rotation.
    sm.on(ListSecretVersionIdsCommand).resolves({
      Versions: [{ VersionId: id('p'), CreatedDate: new Date(NOW - 4 * 60_000) }],
    });

    const { code, text } = await run(['status', '--region', 'eu-west-1']);

    expect(text).toMatch(/db\/running\s+rotating/);
    expect(text).toMatch(/db\/off\s+STRAY PENDING/);
    expect(text).toContain('! db/off: AWSPENDING on version pppppppp for 4m, but rotation is off');
    expect(text).not.toContain('! db/running');
    expect(code).toBe(1);
  });

  it('doctor prints a fix once when two findings share it (no rotator, rotation disabled)', async () => {
    describeSecret({ RotationEnabled: false, RotationLambdaARN: undefined });

    const { text } = await run(['doctor', 'prod/db', '--region', 'eu-west-1']);

    expect(text).toContain('No rotation function is configured.');
    expect(text).toContain('Rotation is disabled');
    expect(text.match(/aws secretsmanager rotate-secret/g)).toHaveLength(1);
  });
});
