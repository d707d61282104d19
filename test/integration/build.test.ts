import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build as esbuild } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const functions = readdirSync(join(root, 'functions'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(root, 'functions', d.name, 'handler.ts')))
  .map((d) => d.name);

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
});
