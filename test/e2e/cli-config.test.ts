import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../../local/secrets-manager/index.js';
import { CLI_TEST_TIMEOUT_MS, createSecret, randomValue, runRotator } from './cli-harness.js';

const root = resolve(import.meta.dirname, '..', '..');

/** The SDK's standard configuration chain, end to end: profiles, endpoint variables, region. */
describe('rotator CLI configuration', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let twin: LocalSecretsManager;
  let home: string;
  let secretName: string;

  beforeAll(async () => {
    twin = await startLocalSecretsManager({ port: 0 });
    ({ name: secretName } = await createSecret(
      twin,
      { username: 'app', password: randomValue() },
      'rotator-example',
    ));
    home = mkdtempSync(join(tmpdir(), 'rotator-home-'));
    mkdirSync(join(home, '.aws'));
    writeFileSync(
      join(home, '.aws', 'credentials'),
      `[ops]\naws_access_key_id = AKIA${randomValue(8)
        .toUpperCase()
        .replace(/[^A-Z0-9]/g, 'X')}\naws_secret_access_key = ${randomValue()}\n`,
    );
    writeFileSync(join(home, '.aws', 'config'), `[profile ops]\nregion = ${twin.region}\n`);
  });

  afterAll(async () => {
    await twin?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('finds the endpoint in AWS_ENDPOINT_URL_SECRETS_MANAGER and credentials in a --profile', async () => {
    const run = await runRotator(['status', '--profile', 'ops'], {
      HOME: home,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: twin.url,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(secretName);
  });

  it('also reads SECRETS_MANAGER_ENDPOINT (what AWS hosted rotation sets)', async () => {
    const run = await runRotator(['status', secretName, '--json'], {
      HOME: home,
      SECRETS_MANAGER_ENDPOINT: twin.url,
      AWS_PROFILE: 'ops',
    });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).secrets[0].name).toBe(secretName);
  });

  it('says plainly when a profile does not exist', async () => {
    const run = await runRotator(['status', '--profile', 'nope', '--endpoint-url', twin.url], {
      HOME: home,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('no AWS credentials found');
  });

  it('runs as `npx rotator` through the package.json bin entry', async () => {
    const run = await new Promise<{ code: number; stdout: string }>((done) => {
      execFile(
        'npx',
        ['--offline', 'rotator', '--help'],
        { cwd: root, timeout: 60_000, env: { PATH: process.env.PATH, HOME: home } },
        (error, stdout) => done({ code: error ? 1 : 0, stdout }),
      );
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: rotator <command> [options]');
  });

  it('rejects unknown options with usage exit code 2', async () => {
    const run = await runRotator(['status', '--frobnicate'], { HOME: home });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("Unknown option '--frobnicate'");
  });
});
