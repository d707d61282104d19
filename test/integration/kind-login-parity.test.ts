import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/rotator.js';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../../local/secrets-manager/index.js';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import {
  ConnectionFailedError,
  CredentialRejectedError,
  SecretFormatError,
} from '../../shared/errors.js';
import type { CredentialKind, LoginVerdict } from '../../shared/kinds/CredentialKind.js';
import { mysqlKind } from '../../shared/strategies/mysql/kind.js';
import { mysqlNativePasswordHash } from '../../shared/strategies/mysql/nativePassword.js';
import { postgresKind } from '../../shared/strategies/postgres/kind.js';
import { scramSha256Verifier } from '../../shared/strategies/postgres/scram.js';
import { closedPort, createSecret } from '../e2e/cli-harness.js';
import { captureOutput } from '../helpers/cliOutput.js';
import { randomPassword, randomSuffix } from '../helpers/credentials.js';
import {
  InMemorySecretsManager,
  lambdaContext,
  rotationEvent,
} from '../helpers/inMemorySecretsManager.js';
import { MARIADB, startMariadb } from '../helpers/servers/mariadb.js';
import { POSTGRES, startPostgres } from '../helpers/servers/postgres.js';
import { serverSupport } from '../helpers/servers/support.js';
import { selfSignedCertificate } from '../helpers/servers/tlsCertificate.js';

/**
 * Point 1 of "one module per kind": the operator CLI (`doctor`) and the rotation function
 * (`testSecret`) try a secret with the same kind module, so they must reach the same
 * verdict on every secret. Each case names the verdict both must give.
 */
type Expected = { outcome: LoginVerdict['outcome']; field?: string };

interface Login {
  host: string;
  port: number;
  username: string;
  password: string;
}

function matrix(login: Login, ca: string, caFile: string, closed: number) {
  const base = {
    host: login.host,
    port: login.port,
    username: login.username,
    password: login.password,
  };
  const cases: [string, Record<string, unknown>, Expected][] = [
    ['plaintext (sslMode disable)', { ...base, sslMode: 'disable' }, { outcome: 'accepted' }],
    [
      'TLS, not verified (sslMode require)',
      { ...base, sslMode: 'require' },
      { outcome: 'accepted' },
    ],
    ['verify-full (the default) with an untrusted certificate', { ...base }, { outcome: 'error' }],
    [
      'verify-full with sslCa as PEM text',
      { ...base, sslMode: 'verify-full', sslCa: ca },
      { outcome: 'accepted' },
    ],
    [
      'AWS ssl: true with sslCa as a file',
      { ...base, ssl: true, sslCa: caFile },
      { outcome: 'accepted' },
    ],
    [
      'ssl false contradicting sslMode',
      { ...base, ssl: false, sslMode: 'verify-full' },
      { outcome: 'invalid', field: 'sslMode' },
    ],
    ['ssl neither true nor false', { ...base, ssl: 'yes' }, { outcome: 'invalid', field: 'ssl' }],
    ['unknown sslMode', { ...base, sslMode: 'prefer' }, { outcome: 'invalid', field: 'sslMode' }],
    [
      'relative sslCa path',
      { ...base, sslCa: 'relative/ca.pem' },
      { outcome: 'invalid', field: 'sslCa' },
    ],
    [
      'unreadable sslCa file',
      { ...base, sslCa: '/nonexistent/rotator-ca.pem' },
      { outcome: 'invalid', field: 'sslCa' },
    ],
    [
      'a port nothing listens on',
      { ...base, port: closed, sslMode: 'disable' },
      { outcome: 'unreachable' },
    ],
    ['a port that is not a number', { ...base, port: 'db' }, { outcome: 'invalid', field: 'port' }],
    [
      'a wrong password',
      { ...base, password: randomPassword(), sslMode: 'disable' },
      { outcome: 'rejected' },
    ],
    [
      'a wrong password over verify-full',
      { ...base, password: randomPassword(), sslCa: ca },
      { outcome: 'rejected' },
    ],
  ];
  return cases;
}

/** testSecret through the real handler: the value is the AWSPENDING version. */
async function viaTestSecret(kind: CredentialKind, value: string): Promise<unknown> {
  const sm = new InMemorySecretsManager();
  sm.seedCurrent(value);
  const token = sm.startRotation(undefined, value);
  const handler = rotationHandler(kind, {
    client: sm.client,
    env: { ROTATION_MODE: 'single-user', CONNECT_TIMEOUT_MS: '3000' },
    cache: null,
    retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
  });
  return handler(rotationEvent('testSecret', sm.arn, token), lambdaContext()).then(
    () => undefined,
    (error: unknown) => error,
  );
}

function expectTestSecret(error: unknown, expected: Expected): void {
  switch (expected.outcome) {
    case 'accepted':
      expect(error).toBeUndefined();
      return;
    case 'rejected':
      expect(error).toBeInstanceOf(CredentialRejectedError);
      return;
    case 'invalid':
      expect(error).toBeInstanceOf(SecretFormatError);
      expect((error as SecretFormatError).field).toBe(expected.field);
      return;
    case 'unreachable':
      expect(error).toBeInstanceOf(ConnectionFailedError);
      expect((error as ConnectionFailedError).code).toBe('ECONNREFUSED');
      return;
    default:
      expect(error).toBeInstanceOf(ConnectionFailedError);
      expect(error).not.toBeInstanceOf(CredentialRejectedError);
  }
}

/** `rotator doctor --json` in process, against the twin and the real server. */
async function viaDoctor(twin: LocalSecretsManager, kind: string, value: Record<string, unknown>) {
  const { name } = await createSecret(twin, value, `rotator-${kind}`);
  const out = captureOutput();
  await main(
    ['doctor', name, '--json', '--endpoint-url', twin.url, '--connect-timeout-ms', '3000'],
    {
      out,
      env: { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_REGION: twin.region },
    },
  );
  const text = out.text();
  expect(text).not.toContain(value.password as string);
  return (JSON.parse(text) as { login?: LoginVerdict }).login;
}

describe.each([
  ['postgres', postgresKind, serverSupport(POSTGRES)],
  ['mysql', mysqlKind, serverSupport(MARIADB)],
] as const)('%s: doctor and testSecret give the same login verdict', (name, kind, support) => {
  let twin: LocalSecretsManager;
  let stop: () => Promise<void> = async () => {};
  let login: Login;
  let ca = '';
  let caDir = '';
  let closed = 0;

  beforeAll(async () => {
    if (!support.available) return;
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    const tls = await selfSignedCertificate();
    ca = tls.cert;
    caDir = await mkdtemp(join(tmpdir(), 'rotator-parity-'));
    await writeFile(join(caDir, 'ca.pem'), ca);
    closed = await closedPort();
    const username = `parity_${randomSuffix()}`;
    const password = randomPassword();
    if (name === 'postgres') {
      const server = await startPostgres({ tls });
      await server.query(
        `CREATE ROLE "${username}" LOGIN PASSWORD '${scramSha256Verifier(password)}'`,
      );
      login = { host: server.host, port: server.port, username, password };
      stop = () => server.stop();
    } else {
      const server = await startMariadb({ tls });
      await server.query("CREATE USER ?@'%' IDENTIFIED BY PASSWORD ?", [
        username,
        mysqlNativePasswordHash(password),
      ]);
      login = { host: server.host, port: server.port, username, password };
      stop = () => server.stop();
    }
    twin = await startLocalSecretsManager({ port: 0 });
  });
  afterAll(async () => {
    await twin?.close();
    await stop();
    if (caDir) await rm(caDir, { recursive: true, force: true });
  });

  it.skipIf(!support.available)(
    'over the whole matrix of TLS fields, ports and passwords',
    async () => {
      const cases = matrix(login, ca, join(caDir, 'ca.pem'), closed);
      const seen: string[] = [];
      for (const [label, fields, expected] of cases) {
        const value = { engine: name === 'postgres' ? 'postgres' : 'mariadb', ...fields };
        const function_ = await viaTestSecret(kind, JSON.stringify(value));
        const doctor = await viaDoctor(twin, name, value);
        seen.push(`${label}: ${doctor?.outcome}`);
        expect.soft(doctor?.outcome, label).toBe(expected.outcome);
        if (expected.field) expect.soft(doctor?.field, label).toBe(expected.field);
        expectTestSecret(function_, expected);
      }
      expect(seen).toHaveLength(cases.length);
    },
  );
});
