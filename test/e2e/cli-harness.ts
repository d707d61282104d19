import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { LocalSecretsManager } from '../../local/secrets-manager/index.js';

const root = resolve(import.meta.dirname, '..', '..');
const launcher = join(root, 'bin', 'rotator.mjs');

/**
 * Per-test timeout of the CLI end-to-end files: each CLI run is a fresh Node process that
 * loads TypeScript through tsx (1–2 s idle, several seconds on a loaded 2-core CI machine),
 * and a test makes up to six of them.
 */
export const CLI_TEST_TIMEOUT_MS = 120_000;

/** What one CLI run produced. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `bin/rotator.mjs` as a subprocess against a twin (asynchronously: the twin serves
 * from this process's event loop). No AWS credentials in the environment: the CLI must use
 * its loopback dummy ones.
 */
export function runCli(
  twin: Pick<LocalSecretsManager, 'url'>,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<CliRun> {
  return runRotator(['--endpoint-url', twin.url, ...args], env);
}

/** Runs `bin/rotator.mjs` with exactly these arguments and a minimal environment plus `env`. */
export function runRotator(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [launcher, ...args],
      {
        cwd: root,
        timeout: 60_000,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** A random secret value (tests never use literal credentials). */
export function randomValue(bytes = 18): string {
  return randomBytes(bytes).toString('base64url');
}

/** A unique secret name per test. */
export function uniqueName(prefix = 'cli'): string {
  return `${prefix}/${randomBytes(5).toString('hex')}`;
}

/** A loopback port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** The function ARN the twin resolves for a registry name. */
export function functionArn(
  twin: Pick<LocalSecretsManager, 'region' | 'accountId'>,
  name: string,
): string {
  return `arn:aws:lambda:${twin.region}:${twin.accountId}:function:${name}`;
}

/** Creates a secret with `value` and, when `rotator` is given, rotation configured to it. */
export async function createSecret(
  twin: LocalSecretsManager,
  value: Record<string, unknown> | string,
  rotator?: string,
): Promise<{ name: string; arn: string }> {
  const name = uniqueName();
  const created = await twin.client.send(
    new CreateSecretCommand({
      Name: name,
      SecretString: typeof value === 'string' ? value : JSON.stringify(value),
    }),
  );
  if (rotator) {
    twin.store.configureRotation(name, functionArn(twin, rotator), { AutomaticallyAfterDays: 30 });
    await twin.persist();
  }
  return { name, arn: created.ARN ?? '' };
}

/** DescribeSecret's VersionIdsToStages. */
export async function stagesOf(
  client: SecretsManagerClient,
  secretId: string,
): Promise<Record<string, string[]>> {
  const d = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
  return d.VersionIdsToStages ?? {};
}

/** The version holding a label. */
export function holder(stages: Record<string, string[]>, label: string): string | undefined {
  return Object.entries(stages).find(([, labels]) => labels.includes(label))?.[0];
}
