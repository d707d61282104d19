import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  CancelRotateSecretCommand,
  CreateSecretCommand,
  RotateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { FleetRow } from '../../cli/lib/fleetState.js';
import { main } from '../../cli/rotator.js';
import { type LocalSecretsManager, ManualClock } from '../../local/secrets-manager/index.js';
import { rotationHandler } from '../../shared/engine/rotationHandler.js';
import type { PendingRequest } from '../../shared/engine/types.js';
import { ExampleStrategy } from '../../shared/strategies/example/ExampleStrategy.js';
import { captureLogs } from '../helpers/captureLogs.js';
import { captureOutput } from '../helpers/cliOutput.js';
import {
  randomValue,
  useLocalSecretsManager,
  useTempDirs,
} from '../helpers/localSecretsManager.js';
import { serverSupport } from '../helpers/servers/support.js';

captureLogs();
const tempDir = useTempDirs('rotator-fleet-');
const start = useLocalSecretsManager();
const root = resolve(import.meta.dirname, '../..');
const CHROMIUM = '/usr/bin/chromium';
/** Debian's Chromium, under the same rule as the test servers: skipped outside CI, fails in CI. */
const chromiumSupport = serverSupport({
  name: 'chromium',
  binaries: [CHROMIUM],
  install: 'chromium',
});
const DAY = 86_400_000;

class FailingStrategy extends ExampleStrategy {
  override async apply(_request: PendingRequest): Promise<void> {
    throw new Error('the target refused the new password');
  }
}

/** A fleet with one secret in every state, plus `bulk` never-rotated ones. */
async function fleet(bulk: number) {
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const twin = await start({
    clock,
    registry: ({ client }) => {
      const ok = rotationHandler(new ExampleStrategy(), { client, env: {} });
      const failing = rotationHandler(new FailingStrategy(), { client, env: {} });
      return new Map([
        ['rotator-ok', (event, context) => ok(event, context)],
        ['rotator-fail', (event, context) => failing(event, context)],
      ]);
    },
  });
  const team = `fleet-${randomValue(3)}`;
  const create = async (name: string, value: Record<string, unknown>, tags = {}) => {
    const created = await twin.client.send(
      new CreateSecretCommand({
        Name: `${team}/${name}`,
        SecretString: JSON.stringify({ username: 'app', password: randomValue(), ...value }),
        Tags: [
          { Key: 'team', Value: team },
          ...Object.entries(tags).map(([Key, Value]) => ({ Key, Value: String(Value) })),
        ],
      }),
    );
    return created.ARN as string;
  };
  const rotate = async (
    arn: string,
    fn: string,
    rules = { ScheduleExpression: 'rate(30 days)' },
  ) => {
    await twin.client
      .send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: fn, RotationRules: rules }))
      .catch(() => undefined);
    await twin.rotations.settled();
  };
  for (let i = 0; i < bulk; i++) {
    const arn = await create(`bulk-${String(i).padStart(3, '0')}`, {});
    twin.store.configureRotation(arn, 'rotator-ok', { ScheduleExpression: 'rate(30 days)' });
  }
  const ok = await create('ok', {});
  await rotate(ok, 'rotator-ok');
  const overdue = await create('overdue', {});
  twin.store.configureRotation(overdue, 'rotator-missing', { ScheduleExpression: 'rate(1 days)' });
  const failing = await create('failing', {});
  await rotate(failing, 'rotator-fail');
  const stray = await create('stray', {});
  await rotate(stray, 'rotator-fail');
  await twin.client.send(new CancelRotateSecretCommand({ SecretId: stray }));
  // Two secrets on one database host with the same schedule: their windows collide.
  const admin = await create('admin', {});
  const db = {
    engine: 'postgres',
    host: 'db9.internal',
    port: 5432,
    dbname: 'app',
    masterarn: admin,
  };
  const dbA = await create('db-a', { ...db, username: 'a' });
  const dbB = await create('db-b', { ...db, username: 'b' });
  for (const arn of [dbA, dbB])
    await rotate(arn, 'rotator-ok', { ScheduleExpression: 'rate(7 days)' });
  // Three days later: overdue is past its window, failing's pending is older than its window.
  clock.advance(3 * DAY);
  await twin.rotations.settled();
  const rotating = await create('rotating', {});
  await rotate(rotating, 'rotator-fail');
  const frozen = await create(
    'frozen',
    {},
    { 'rotator:freeze': `${new Date(clock.now() - DAY).toISOString().slice(0, 10)}/2026-12-31` },
  );
  twin.store.configureRotation(frozen, 'rotator-ok', { ScheduleExpression: 'rate(30 days)' });
  // Frozen through its admin secret only: the function refuses it just the same.
  const frozenAdmin = await create(
    'frozen-admin',
    {},
    { 'rotator:freeze': `${new Date(clock.now() - DAY).toISOString().slice(0, 10)}/2026-12-31` },
  );
  const dbC = await create('db-c', {
    ...db,
    host: 'db7.internal',
    username: 'c',
    masterarn: frozenAdmin,
  });
  twin.store.configureRotation(dbC, 'rotator-ok', { ScheduleExpression: 'rate(30 days)' });
  return { twin, clock, team };
}

async function rotator(twin: LocalSecretsManager, clock: ManualClock, args: string[]) {
  const out = captureOutput();
  const code = await main(['--endpoint-url', twin.url, ...args], {
    out,
    env: {},
    context: (ctx) => ({ ...ctx, now: () => clock.now() }),
  });
  return { code, text: out.text() };
}

describe('rotator fleet', () => {
  it('lists 200+ secrets over HTTP with kind, schedule, state, target and admin; exit 1 on overdue or failing', async () => {
    const { twin, clock, team } = await fleet(200);
    const run = await rotator(twin, clock, ['fleet', '--tag-value', team, '--json']);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.text) as { secrets: FleetRow[]; counts: Record<string, number> };
    const byName = new Map(report.secrets.map((r) => [r.name.split('/')[1], r]));
    // Every rotation-configured secret (and the stray pending), not the admin secret.
    expect(report.secrets).toHaveLength(200 + 9);
    expect(byName.has('admin')).toBe(false);
    expect(byName.get('ok')?.state).toBe('ok');
    expect(byName.get('overdue')?.state).toBe('overdue');
    expect(byName.get('failing')?.state).toBe('failing');
    expect(byName.get('rotating')?.state).toBe('rotating');
    expect(byName.get('stray')?.state).toBe('disabled-stray-pending');
    expect(byName.get('frozen')?.state).toBe('frozen');
    expect(byName.get('db-c')?.state).toBe('frozen');
    expect(byName.get('db-c')?.detail).toMatch(
      /^freeze .* \(admin secret fleet-.*\/frozen-admin\)$/,
    );
    expect(byName.get('bulk-000')?.state).toBe('never-rotated');
    expect(byName.get('db-a')).toMatchObject({
      kind: 'postgres',
      function: 'rotator-ok',
      schedule: 'rate(7 days)',
      target: 'postgres db9.internal:5432',
      state: 'ok',
    });
    expect(byName.get('db-a')?.admin).toMatch(/:secret:fleet-.*\/admin-/);
    expect(report.counts['never-rotated']).toBe(200);

    const text = await rotator(twin, clock, ['fleet', '--tag-value', team]);
    expect(text.code).toBe(1);
    expect(text.text).toMatch(/overdue/);
    const healthy = await rotator(twin, clock, ['fleet', '--name-prefix', `${team}/db-`]);
    expect(healthy.code, healthy.text).toBe(0);
    // The same fleet spread (dry run): a slot for each of the 208 enabled ones.
    const spread = await rotator(twin, clock, [
      'schedule',
      '--spread',
      '--tag-value',
      team,
      '--json',
    ]);
    const plan = JSON.parse(spread.text) as { proposals: unknown[]; unplaced: string[] };
    expect(spread.code).toBe(0);
    expect(plan.proposals).toHaveLength(208);
    expect(plan.unplaced).toEqual([]);
  });

  it.skipIf(!chromiumSupport.available)(
    `--html writes a self-contained report that renders in Chromium, with the rows and a marked collision ${chromiumSupport.reason}`,
    async () => {
      const { twin, clock, team } = await fleet(3);
      const file = join(tempDir(), 'fleet.html');
      const run = await rotator(twin, clock, ['fleet', '--tag-value', team, '--html', file]);
      expect(run.code).toBe(1);
      const html = readFileSync(file, 'utf8');
      expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      try {
        const page = await browser.newPage();
        const requests: string[] = [];
        page.on('request', (request) => requests.push(request.url()));
        await page.goto(`file://${file}`);
        expect(await page.locator('#fleet tbody tr').count()).toBe(3 + 9);
        expect(await page.locator('tr[data-state="overdue"] td').first().textContent()).toContain(
          'overdue',
        );
        const collisions = page.locator('#timeline .window.collision');
        expect(await collisions.count()).toBeGreaterThanOrEqual(2);
        const colliding = new Set(
          await collisions.evaluateAll((els) => els.map((e) => e.getAttribute('data-secret'))),
        );
        expect([...colliding].sort()).toEqual([`${team}/db-a`, `${team}/db-b`]);
        expect(await page.locator('.lane[data-target="postgres db9.internal:5432"]').count()).toBe(
          1,
        );
        expect(requests.filter((url) => !url.startsWith('file://'))).toEqual([]);
        mkdirSync(join(root, 'reports'), { recursive: true });
        await page.screenshot({ path: join(root, 'reports', 'fleet-report.png'), fullPage: true });
      } finally {
        await browser.close();
      }
    },
  );

  it('schedule --spread proposes (dry run) and applies windows that no two secrets of one host share', async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    const twin = await start({
      clock,
      registry: ({ client }) => {
        const ok = rotationHandler(new ExampleStrategy(), { client, env: {} });
        return new Map([['rotator-ok', (event, context) => ok(event, context)]]);
      },
    });
    const team = `spread-${randomValue(3)}`;
    const arns: string[] = [];
    for (const [i, host] of ['db1', 'db1', 'db1', 'db2', 'db2', 'db2'].entries()) {
      const created = await twin.client.send(
        new CreateSecretCommand({
          Name: `${team}/s${i}`,
          SecretString: JSON.stringify({
            engine: 'postgres',
            host,
            port: 5432,
            username: `u${i}`,
            password: randomValue(),
          }),
          Tags: [{ Key: 'team', Value: team }],
        }),
      );
      twin.store.configureRotation(created.ARN as string, 'rotator-ok', {
        ScheduleExpression: 'rate(7 days)',
      });
      arns.push(created.ARN as string);
    }
    const before = await rotator(twin, clock, ['fleet', '--tag-value', team, '--json']);
    const rows = (JSON.parse(before.text) as { secrets: FleetRow[] }).secrets;
    const { timeline } = await import('../../cli/lib/fleetReport.js');
    const withRules = (list: FleetRow[]) =>
      list.map((r) => ({
        ...r,
        rules: {
          ScheduleExpression: r.schedule?.split(' within ')[0] ?? '',
          ...(r.schedule?.includes(' within ')
            ? { Duration: r.schedule.split(' within ')[1] }
            : {}),
        },
      }));
    expect(timeline(withRules(rows), clock.now()).some((w) => w.collides)).toBe(true);

    const dry = await rotator(twin, clock, [
      'schedule',
      '--spread',
      '--tag-value',
      team,
      '--window',
      '3h',
      '--json',
    ]);
    expect(dry.code, dry.text).toBe(0);
    const plan = JSON.parse(dry.text) as {
      proposals: { target: string; after: { ScheduleExpression: string } }[];
      applied: number;
    };
    expect(plan.applied).toBe(0);
    expect(plan.proposals).toHaveLength(6);
    const slots = plan.proposals.map((p) => `${p.target}|${p.after.ScheduleExpression}`);
    expect(new Set(slots).size).toBe(6);
    const byTarget = new Map<string, Set<string>>();
    for (const p of plan.proposals) {
      byTarget.set(p.target, (byTarget.get(p.target) ?? new Set()).add(p.after.ScheduleExpression));
    }
    expect([...byTarget.values()].map((s) => s.size)).toEqual([3, 3]);
    // Nothing changed by the dry run.
    const unchanged = await rotator(twin, clock, ['fleet', '--tag-value', team, '--json']);
    expect(unchanged.text).not.toContain('cron(');

    const applied = await rotator(twin, clock, [
      'schedule',
      '--spread',
      '--tag-value',
      team,
      '--window',
      '3h',
      '--apply',
    ]);
    expect(applied.code, applied.text).toBe(0);
    expect(applied.text).toContain('Applied 6 schedule(s)');
    await twin.rotations.settled();
    const after = await rotator(twin, clock, ['fleet', '--tag-value', team, '--json']);
    const spread = (JSON.parse(after.text) as { secrets: FleetRow[] }).secrets;
    expect(
      spread.every((r) => r.schedule?.startsWith('cron(') && r.schedule.endsWith('within 3h')),
    ).toBe(true);
    expect(timeline(withRules(spread), clock.now()).some((w) => w.collides)).toBe(false);
  });
});
