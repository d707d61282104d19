/**
 * The built function bundles as Lambda runs them: size, start-up time and memory above bare
 * `node` (with `--enable-source-maps`, as the template's NODE_OPTIONS sets it, and without,
 * to price the source maps), and rotations against real servers through the local Secrets
 * Manager twin with every step in a new process (cold containers) or the four steps in one
 * (a warm container): Secrets Manager calls counted over HTTP, peak RSS of one rotation in
 * its own process, times. Repetitions give min/median/max; counts are exact.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { type BundleRotation, startBundleTwin } from '../test/helpers/bundleProcess.js';
import { MODES, withBenchDatabases } from './databases.js';
import { type Record as RecordFigure, summary } from './stats.js';

const root = resolve(import.meta.dirname, '..');

/** Wall time and peak RSS of `node [flags] -e script`. */
function runNode(flags: string[], script: string, env: NodeJS.ProcessEnv) {
  const start = performance.now();
  return new Promise<{ ms: number; rssKiB: number }>((done, fail) => {
    const child = spawn(process.execPath, [...flags, '-e', script], { env, stdio: 'pipe' });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', fail);
    child.on('exit', (code) => {
      if (code !== 0) fail(new Error(`node ${flags.join(' ')} exited with ${code}`));
      else done({ ms: performance.now() - start, rssKiB: Number(out.trim()) });
    });
  });
}

const PRINT_RSS = 'process.stdout.write(String(process.resourceUsage().maxRSS))';

/** Builds every function into a temporary directory; returns name → bundle path. */
async function buildBundles(): Promise<{ dir: string; bundles: Record<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'rotator-bench-build-'));
  await promisify(execFile)(process.execPath, [join(root, 'scripts/build.mjs'), '--outdir', dir], {
    cwd: root,
  });
  const bundles: Record<string, string> = {};
  for (const name of readdirSync(dir)) bundles[name] = join(dir, name, 'index.js');
  return { dir, bundles };
}

/** Sizes, init time and memory of every bundle. */
async function benchLoad(
  bundles: Record<string, string>,
  record: RecordFigure,
  repetitions: number,
): Promise<void> {
  const env = {
    PATH: process.env.PATH,
    // Database functions validate their mode at start-up.
    ROTATION_MODE: 'single-user',
    AWS_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  // Paired runs: each repetition starts bare node and then every bundle, with and without
  // source maps, back to back, so a busy moment on the machine affects both sides alike.
  const variants = Object.entries(bundles).flatMap(([name, bundle]) =>
    (
      [
        ['sourceMaps', ['--enable-source-maps']],
        ['noSourceMaps', []],
      ] as const
    ).map(([label, flags]) => ({ name, bundle, label, flags: [...flags] })),
  );
  const bare: { ms: number; rssKiB: number }[] = [];
  const above = new Map<string, { ms: number[]; rss: number[] }>();
  for (let i = 0; i < repetitions; i++) {
    const base = await runNode([], PRINT_RSS, env);
    bare.push(base);
    for (const v of variants) {
      const run = await runNode(v.flags, `require(${JSON.stringify(v.bundle)});${PRINT_RSS}`, env);
      const key = `${v.name}.${v.label}`;
      const entry = above.get(key) ?? { ms: [], rss: [] };
      entry.ms.push(run.ms - base.ms);
      entry.rss.push((run.rssKiB - base.rssKiB) / 1024);
      above.set(key, entry);
    }
  }
  const bareMs = summary(bare.map((b) => b.ms));
  const bareRss = summary(bare.map((b) => b.rssKiB / 1024));
  record('node.bare.start', bareMs.median, 'ms', `min ${bareMs.min} / max ${bareMs.max}`);
  record('node.bare.rss', bareRss.median, 'MiB', 'peak RSS of node -e ""');
  for (const [name, bundle] of Object.entries(bundles)) {
    const bytes = statSync(bundle).size;
    const mapBytes = statSync(`${bundle}.map`).size;
    record(
      `bundle.${name}.size`,
      bytes / 1024,
      'KiB',
      `${bytes} bytes minified; source map ${Math.round(mapBytes / 1024)} KiB`,
    );
    for (const label of ['sourceMaps', 'noSourceMaps']) {
      const entry = above.get(`${name}.${label}`) ?? { ms: [], rss: [] };
      const ms = summary(entry.ms);
      const rss = summary(entry.rss);
      record(
        `bundle.${name}.init.${label}`,
        ms.median,
        'ms above bare node',
        `require() of the bundle, paired with a bare start; min ${ms.min} / max ${ms.max}, n=${repetitions}`,
      );
      record(
        `bundle.${name}.rss.${label}`,
        rss.median,
        'MiB above bare node',
        `peak RSS after loading; min ${rss.min} / max ${rss.max}`,
      );
    }
  }
}

const total = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);

/** Rotations through the built bundles, cold (process per step) and warm (one process). */
async function benchBundleRotations(
  bundles: Record<string, string>,
  record: RecordFigure,
  repetitions: number,
): Promise<void> {
  await withBenchDatabases(
    async (databases) => {
      const targets: {
        name: string;
        functionName: string;
        env: NodeJS.ProcessEnv;
        seed: (adminArn: string) => Promise<string>;
        adminSecret?: string;
      }[] = [
        {
          name: 'example',
          functionName: 'example',
          env: {},
          seed: async () => JSON.stringify({ username: 'bench', password: 'x'.repeat(16) }),
        },
      ];
      for (const database of databases) {
        for (const mode of MODES) {
          targets.push({
            name: `${database.name}.${mode}`,
            functionName: database.functionName,
            env: { ROTATION_MODE: mode },
            seed: (adminArn) => database.seed(mode === 'alternating-users' ? adminArn : undefined),
            adminSecret: database.adminSecret,
          });
        }
      }
      for (const target of targets) {
        const bundle = bundles[target.functionName];
        if (!bundle) continue;
        for (const process of ['per-step', 'per-rotation'] as const) {
          const twin = await startBundleTwin({ [target.functionName]: bundle }, target.env, {
            process,
          });
          try {
            const admin = await twin.client.send(
              new CreateSecretCommand({
                Name: `bench-admin/${target.name}`,
                SecretString: target.adminSecret ?? '{}',
              }),
            );
            const secret = await twin.client.send(
              new CreateSecretCommand({
                Name: `bench/${target.name}`,
                SecretString: await target.seed(admin.ARN as string),
              }),
            );
            const runs: { ms: number; rotation: BundleRotation }[] = [];
            // The first rotation of an alternating secret creates the other user: unmeasured.
            for (let i = 0; i < repetitions + 1; i++) {
              const start = performance.now();
              const rotation = await twin.rotate(secret.ARN as string, target.functionName);
              if (rotation.state !== 'Succeeded') {
                throw new Error(`${target.name}: ${rotation.errors.join('\n')}`);
              }
              if (i > 0) runs.push({ ms: performance.now() - start, rotation });
            }
            const last = runs[runs.length - 1]?.rotation;
            const ms = summary(runs.map((r) => r.ms));
            const label = process === 'per-step' ? 'cold' : 'warm';
            record(
              `bundle.${target.name}.rotation.${label}`,
              ms.median,
              'ms',
              `${process === 'per-step' ? 'a new process for every step' : 'one process for the four steps'}; min ${ms.min} / max ${ms.max}, n=${repetitions}`,
            );
            record(
              `bundle.${target.name}.secretsManagerCalls.${label}`,
              total(last?.callsPerStep ?? {}),
              'calls/rotation',
              JSON.stringify(last?.callsPerStep ?? {}),
            );
            if (process === 'per-rotation') {
              const rss = summary(runs.map((r) => r.rotation.maxRssKiB / 1024));
              record(
                `bundle.${target.name}.rotation.peakRss`,
                rss.median,
                'MiB',
                `one rotation in its own process (--enable-source-maps); min ${rss.min} / max ${rss.max}`,
              );
            }
          } finally {
            await twin.close();
          }
        }
      }
    },
    (reason) => record('bundle.rotation.skipped', 0, '', reason),
  );
}

/**
 * Every bundle figure; builds the bundles into a temporary directory first. With
 * `loadOnly`, sizes, start-up and memory only (`npm run bench -- bundles`: no servers).
 */
export async function benchBundles(
  record: RecordFigure,
  repetitions = 5,
  loadOnly = false,
): Promise<void> {
  const { dir, bundles } = await buildBundles();
  try {
    await benchLoad(bundles, record, repetitions);
    if (loadOnly) return;
    await benchBundleRotations(bundles, record, Math.max(3, Math.floor(repetitions / 2)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
