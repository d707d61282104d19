import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * `$AWS_CLI_PATH` when set (and only it), else the first `aws` on PATH, `/usr/local/bin` or
 * `/usr/bin` that reports CLI v2: PATH may start with a v1 shim (e.g. pyenv).
 */
export function findAwsCliV2(): string | undefined {
  const explicit = process.env.AWS_CLI_PATH;
  const candidates = (
    explicit
      ? [explicit]
      : [
          ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'aws')),
          '/usr/local/bin/aws',
          '/usr/bin/aws',
        ]
  ).filter((p) => p.length > 0 && existsSync(p));
  for (const candidate of candidates) {
    try {
      const version = execFileSync(candidate, ['--version'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      if (version.startsWith('aws-cli/2')) return candidate;
    } catch {
      // not runnable (e.g. a pyenv shim without a version): try the next one
    }
  }
  return undefined;
}

/** Why a CLI test cannot run, and how to fix it. */
export const AWS_CLI_MISSING =
  'AWS CLI v2 not found ($AWS_CLI_PATH if set, else PATH, /usr/local/bin, /usr/bin). Install it: apt-get install -y awscli (Debian 12 ships v2)';

/**
 * Skips the test when the CLI is missing, except in CI, where a missing CLI is a broken
 * environment and fails the test. Returns the CLI's path, or `undefined` after skipping.
 */
export function requireAwsCli(
  aws: string | undefined,
  context: { skip: (note?: string) => void },
): string | undefined {
  if (aws) return aws;
  if (process.env.CI === 'true') throw new Error(AWS_CLI_MISSING);
  context.skip(AWS_CLI_MISSING);
  return undefined;
}

/** `aws secretsmanager …` against an endpoint with dummy credentials and no user configuration. */
export function secretsManagerCli(aws: string, endpoint: string) {
  return serviceCli(aws, endpoint, 'secretsmanager');
}

/** `aws <service> …` (e.g. `ssm`) against an endpoint with dummy credentials and no user configuration. */
export function serviceCli(aws: string, endpoint: string, service: string) {
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_REGION: 'us-east-1',
    AWS_PAGER: '',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
  const cli = async (...args: string[]): Promise<Record<string, unknown>> => {
    const { stdout } = await run(
      aws,
      ['--endpoint-url', endpoint, '--output', 'json', service, ...args],
      { env },
    );
    return stdout.trim() === '' ? {} : (JSON.parse(stdout) as Record<string, unknown>);
  };
  /** Runs a command that must fail; returns its stderr. */
  const cliError = async (...args: string[]): Promise<string> => {
    try {
      await cli(...args);
    } catch (error) {
      return String((error as { stderr?: string }).stderr);
    }
    throw new Error(`expected aws ${service} ${args[0]} to fail`);
  };
  return { cli, cliError };
}
