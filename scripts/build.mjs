#!/usr/bin/env node
// Bundles every functions/<name>/handler.ts into dist/<name>/index.js: one minified,
// tree-shaken CommonJS file per function, AWS SDK included, with a source map.
// CommonJS because pg and mysql2 are CommonJS and use dynamic require; an ESM bundle would
// need a createRequire banner for no gain on Lambda.
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { slimBundleOptions } from './slimBundle.mjs';

const { values } = parseArgs({ options: { outdir: { type: 'string', default: 'dist' } } });
const root = resolve(import.meta.dirname, '..');
const outRoot = resolve(root, values.outdir);
const functions = readdirSync(join(root, 'functions'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(root, 'functions', d.name, 'handler.ts')))
  .map((d) => d.name)
  .sort();

if (functions.length === 0) {
  process.stderr.write('no functions/<name>/handler.ts found\n');
  process.exit(1);
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  minify: true,
  treeShaking: true,
  sourcemap: true,
  // pg's native binding is optional and never used; keep the bundle pure JavaScript.
  external: ['pg-native'],
  mainFields: ['module', 'main'],
  legalComments: 'none',
  logLevel: 'warning',
};

// Sync targets (docs/sync.md) need the SSM, S3 and KMS clients, about 250 KiB: they go in
// sync.js beside index.js, which the engine's dynamic import loads only for a secret that
// declares targets, so the main bundle and every cold start stay as they were.
const SYNC_MODULE = /[/\\]awsTargets\.js$/;
const syncChunk = {
  name: 'sync-chunk',
  setup(b) {
    b.onResolve({ filter: /awsTargets\.js$/ }, (args) =>
      args.kind === 'dynamic-import' && SYNC_MODULE.test(`/${args.path}`)
        ? { path: './sync.js', external: true }
        : undefined,
    );
  },
};

const report = [];
for (const name of functions) {
  const outdir = join(outRoot, name);
  mkdirSync(outdir, { recursive: true });
  await build({
    ...common,
    entryPoints: [join(root, 'shared', 'sync', 'awsTargets.ts')],
    outfile: join(outdir, 'sync.js'),
  });
  await build({
    ...common,
    entryPoints: [join(root, 'functions', name, 'handler.ts')],
    outfile: join(outdir, 'index.js'),
    // Stubs for what our connections never use (iconv-lite, RDS CA profiles) and a compact
    // mysql2 error table: docs/deploy.md#bundle-size.
    ...slimBundleOptions,
    plugins: [syncChunk, ...slimBundleOptions.plugins],
  });
  // The repository is "type": "module"; this folder is CommonJS whoever loads it. Name and
  // version because `sam build`'s Node builder runs `npm pack` on the folder.
  const manifest = { name: `rotator-${name}`, version: '0.0.0', private: true, type: 'commonjs' };
  writeFileSync(join(outdir, 'package.json'), `${JSON.stringify(manifest)}\n`);
  report.push({ function: name, bytes: statSync(join(outdir, 'index.js')).size });
}
for (const { function: name, bytes } of report) {
  process.stdout.write(
    `${name.padEnd(20)} ${(bytes / 1024).toFixed(0).padStart(6)} KiB  ${join(values.outdir, name, 'index.js')}\n`,
  );
}
const syncBytes = statSync(join(outRoot, functions[0], 'sync.js')).size;
process.stdout.write(
  `${'(sync targets)'.padEnd(20)} ${(syncBytes / 1024).toFixed(0).padStart(6)} KiB  ${join(values.outdir, '<function>', 'sync.js')}, loaded only for a secret with sync tags\n`,
);
