import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { CreateSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { build as esbuild } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs build script, without type declarations
import { compactMysqlErrors } from '../../scripts/slimBundle.mjs';
import { startBundleTwin } from '../helpers/bundleProcess.js';
import { randomPassword, randomSuffix } from '../helpers/credentials.js';
import { MARIADB, type MariadbServer, startMariadb } from '../helpers/servers/mariadb.js';
import { serverSupport } from '../helpers/servers/support.js';

const root = resolve(import.meta.dirname, '../..');
const functions = readdirSync(join(root, 'functions'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(root, 'functions', d.name, 'handler.ts')))
  .map((d) => d.name);

/** The largest function bundle we ship, minified (issue 12): 600 KB. */
const BUNDLE_LIMIT_BYTES = 600_000;

/** The size check every bundle must pass; returns the problem, or undefined. */
function bundleTooLarge(name: string, bytes: number): string | undefined {
  return bytes > BUNDLE_LIMIT_BYTES
    ? `${name} bundle is ${bytes} bytes, over the ${BUNDLE_LIMIT_BYTES}-byte limit`
    : undefined;
}

describe('npm run build', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'rotator-build-'));
  beforeAll(async () => {
    await promisify(execFile)(
      process.execPath,
      [join(root, 'scripts/build.mjs'), '--outdir', outdir],
      {
        cwd: root,
      },
    );
  }, 120_000);
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('finds at least the example function', () => {
    expect(functions).toContain('example');
  });

  it.each(functions)(
    'bundles %s into one minified CommonJS file with a source map and the SDK inside',
    async (name) => {
      const file = join(outdir, name, 'index.js');
      const code = readFileSync(file, 'utf8');
      expect(existsSync(`${file}.map`)).toBe(true);
      expect(code).toMatch(/sourceMappingURL=index\.js\.map/);
      // Minified: well under the size of the same bundle built without minification.
      const plain = await esbuild({
        entryPoints: [join(root, 'functions', name, 'handler.ts')],
        bundle: true,
        platform: 'node',
        target: 'node22',
        format: 'cjs',
        external: ['pg-native'],
        write: false,
        logLevel: 'silent',
      });
      expect(code.length).toBeLessThan((plain.outputFiles[0]?.contents.length ?? 0) * 0.7);
      // The AWS SDK and our own modules are inside, not required at run time. The SDK's
      // mentions of the optional SigV4a signers (CRT or JS) sit in error-message text only.
      const sdkRequires = new Set(code.match(/require\(["']@aws-sdk\/[^"']+["']\)/g) ?? []);
      expect([...sdkRequires].filter((r) => !/signature-v4(a|-crt)/.test(r))).toEqual([]);
      expect(code).not.toMatch(/require\(["']@aws-lambda-powertools\//);
      expect(code).not.toMatch(/require\(["']@middy\//);
      expect(JSON.parse(readFileSync(join(outdir, name, 'package.json'), 'utf8'))).toEqual({
        name: `rotator-${name}`,
        version: '0.0.0',
        private: true,
        type: 'commonjs',
      });
    },
  );

  it.each(functions)('the %s bundle loads and exports a handler function', (name) => {
    // Database functions refuse to start without a mode (start-up validation); give one.
    const saved = process.env.ROTATION_MODE;
    process.env.ROTATION_MODE = 'single-user';
    try {
      const load = createRequire(join(outdir, name, 'index.js'));
      const mod = load(join(outdir, name, 'index.js')) as { handler?: unknown };
      expect(typeof mod.handler).toBe('function');
    } finally {
      if (saved === undefined) delete process.env.ROTATION_MODE;
      else process.env.ROTATION_MODE = saved;
    }
  });

  it.each(functions)(
    'the %s bundle leaves the sync-target clients to sync.js, which loads on demand beside it',
    async (name) => {
      // Sync targets (docs/sync.md) need the SSM, S3 and KMS clients: not in index.js, so a
      // secret without targets costs no bytes and no cold-start time for them. (The apikey
      // function has its own SSM client, for provider declarations: S3 and KMS are checked.)
      const main = readFileSync(join(outdir, name, 'index.js'), 'utf8');
      const sync = readFileSync(join(outdir, name, 'sync.js'), 'utf8');
      for (const operation of ['"PutObject"', '"GenerateDataKey"']) {
        expect(main.includes(operation), `${name}/index.js holds ${operation}`).toBe(false);
        expect(sync.includes(operation), `sync.js lacks ${operation}`).toBe(true);
      }
      expect(main).toContain('import("./sync.js")');
      const chunk = (await import(join(outdir, name, 'sync.js'))) as {
        createTargetWriter?: (env: NodeJS.ProcessEnv) => { write?: unknown };
      };
      expect(typeof chunk.createTargetWriter?.({}).write).toBe('function');
      expect(bundleTooLarge(`${name}/sync.js`, Buffer.byteLength(sync))).toBeUndefined();
    },
  );

  it.each(functions)('the %s bundle is at most 600 KB minified', (name) => {
    const bytes = statSync(join(outdir, name, 'index.js')).size;
    expect(bundleTooLarge(name, bytes)).toBeUndefined();
  });

  it('the size check fails a bundle built without the stubs (mysql: iconv-lite, RDS CAs, full error table)', async () => {
    const plain = await esbuild({
      entryPoints: [join(root, 'functions', 'mysql', 'handler.ts')],
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      minify: true,
      external: ['pg-native'],
      mainFields: ['module', 'main'],
      legalComments: 'none',
      write: false,
      logLevel: 'silent',
    });
    const bytes = plain.outputFiles[0]?.contents.length ?? 0;
    expect(bundleTooLarge('mysql', bytes)).toMatch(/over the 600000-byte limit/);
  });

  it("the compact mysql2 error table is mysql2's, entry for entry", async () => {
    const path = join(root, 'node_modules', 'mysql2', 'lib', 'constants', 'errors.js');
    const original = createRequire(import.meta.url)(path) as Record<string, unknown>;
    const compact: Record<string, unknown> = {};
    new Function('exports', 'require', compactMysqlErrors(readFileSync(path, 'utf8')))(
      compact,
      createRequire(import.meta.url),
    );
    expect(Object.keys(compact).length).toBe(Object.keys(original).length);
    expect(compact).toEqual(original);
    expect(compact.ER_ACCESS_DENIED_ERROR).toBe(1045);
    expect(compact[1045]).toBe('ER_ACCESS_DENIED_ERROR');
  });

  const mariadb = serverSupport(MARIADB);

  /**
   * A MariaDB server of its own, the built mysql bundle behind the twin (a new process for
   * every step) in `mode`, and a user `username` with its secret; `extra` joins its fields.
   * `rotate` runs one rotation and returns the per-step calls and the value it left.
   */
  async function withMariadbBundle(
    mode: string,
    username: string,
    work: (rig: {
      server: MariadbServer;
      password: string;
      rotate(): Promise<{
        callsPerStep: Record<string, number>;
        now: { username: string; password: string };
      }>;
    }) => Promise<void>,
    extra: (
      twin: Awaited<ReturnType<typeof startBundleTwin>>,
      server: MariadbServer,
    ) => Promise<Record<string, unknown>> = async () => ({}),
  ): Promise<void> {
    const server: MariadbServer = await startMariadb();
    const twin = await startBundleTwin(
      { 'rotator-mysql': join(outdir, 'mysql', 'index.js') },
      { ROTATION_MODE: mode },
    );
    try {
      const password = randomPassword();
      await server.query('CREATE USER ?@? IDENTIFIED BY ?', [username, '%', password]);
      const created = await twin.client.send(
        new CreateSecretCommand({
          Name: `bundle/${randomSuffix()}`,
          SecretString: JSON.stringify({
            engine: 'mariadb',
            host: server.host,
            port: server.port,
            username,
            password,
            ssl: false,
            ...(await extra(twin, server)),
          }),
        }),
      );
      const arn = created.ARN as string;
      await work({
        server,
        password,
        async rotate() {
          const rotation = await twin.rotate(arn, 'rotator-mysql');
          expect(rotation.errors).toEqual([]);
          expect(rotation.state).toBe('Succeeded');
          const now = JSON.parse(
            (await twin.client.send(new GetSecretValueCommand({ SecretId: arn })))
              .SecretString as string,
          ) as { username: string; password: string };
          expect(await server.canLogin(now.username, now.password)).toBe(true);
          return { callsPerStep: rotation.callsPerStep, now };
        },
      });
    } finally {
      await twin.close();
      await server.stop();
    }
  }

  it.skipIf(!mariadb.available)(
    `the built mysql bundle rotates a MariaDB user with a non-ASCII name (utf8mb4), cold process per step ${mariadb.reason}`,
    async () => {
      // Non-ASCII in the user name: query text and SHOW/SELECT results cross the
      // connection as utf8mb4, which the bundle handles without iconv-lite.
      const username = `bündel_${randomSuffix().slice(0, 6)}`;
      await withMariadbBundle('single-user', username, async ({ password, rotate }) => {
        const { callsPerStep, now } = await rotate();
        expect(now.username).toBe(username);
        expect(now.password).not.toBe(password);
        // Cold process per step: 4 + 3 + 1 + 2 Secrets Manager calls.
        expect(callsPerStep).toEqual({
          createSecret: 4,
          setSecret: 3,
          testSecret: 1,
          finishSecret: 2,
        });
      });
    },
    120_000,
  );

  it.skipIf(!mariadb.available)(
    `the built mysql bundle rotates alternating users in 10 Secrets Manager calls, cold process per step ${mariadb.reason}`,
    async () => {
      const username = `alt_${randomSuffix().slice(0, 6)}`;
      await withMariadbBundle(
        'alternating-users',
        username,
        async ({ rotate }) => {
          // The first rotation creates the other user; the second finds both.
          for (const expected of [`${username}_clone`, username]) {
            const { callsPerStep, now } = await rotate();
            expect(now.username).toBe(expected);
            // createSecret: DescribeSecret, probe, current, the admin's DescribeSecret
            // (freeze tag), PutSecretValue; setSecret: the pending value, then the current
            // one and the admin's in one BatchGetSecretValue.
            expect(callsPerStep).toEqual({
              createSecret: 5,
              setSecret: 2,
              testSecret: 1,
              finishSecret: 2,
            });
          }
        },
        async (twin, server) => {
          const admin = await twin.client.send(
            new CreateSecretCommand({
              Name: `bundle-admin/${randomSuffix()}`,
              SecretString: JSON.stringify(server.admin),
            }),
          );
          return { masterarn: admin.ARN };
        },
      );
    },
    120_000,
  );

  it('the built example bundle rotates in one warm process, its metric lines on stdout notwithstanding', async () => {
    const twin = await startBundleTwin(
      { 'rotator-example': join(outdir, 'example', 'index.js') },
      {},
      { process: 'per-rotation' },
    );
    try {
      const created = await twin.client.send(
        new CreateSecretCommand({
          Name: `bundle/${randomSuffix()}`,
          SecretString: JSON.stringify({ username: 'app', password: randomPassword() }),
        }),
      );
      const rotation = await twin.rotate(created.ARN as string, 'rotator-example');
      expect(rotation.errors).toEqual([]);
      expect(rotation.state).toBe('Succeeded');
      // Warm: the version cache spares setSecret's reads (4 + 1 + 1 + 2).
      expect(rotation.callsPerStep).toEqual({
        createSecret: 4,
        setSecret: 1,
        testSecret: 1,
        finishSecret: 2,
      });
    } finally {
      await twin.close();
    }
  });
});
