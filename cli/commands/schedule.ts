import { type Filter, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { parseRotationRules, type RotationRules } from '../../local/secrets-manager/schedule.js';
import type { CommandContext } from '../lib/context.js';
import { UsageError } from '../lib/errors.js';
import { type FleetRow, fleetRows } from '../lib/fleetState.js';
import { renderTable } from '../lib/output.js';
import { TokenBucket, withThrottlingRetry } from '../lib/rateLimiter.js';

/** Options of {@link scheduleSpreadCommand}. */
export interface SpreadOptions {
  filters: Filter[];
  /** Rotation window length in hours (`--window 3h`), 1 to 24. */
  windowHours: number;
  /** Secrets whose windows may start in one slot, at most (any targets). */
  maxPerWindow: number;
  apply: boolean;
}

/** One proposal of `schedule --spread`. */
export interface SpreadProposal {
  name: string;
  arn: string;
  target: string;
  before: string | undefined;
  after: RotationRules;
}

/** `--window 3h` as hours; the service's Duration allows 1 to 24 hours. */
export function parseWindow(text: string | undefined): number {
  const match = /^(\d{1,2})h$/.exec(text ?? '3h');
  const hours = match ? Number(match[1]) : Number.NaN;
  if (!(hours >= 1 && hours <= 24)) {
    throw new UsageError('--window must be a whole number of hours from 1h to 24h, e.g. 3h');
  }
  return hours;
}

/** Rotation interval in days, from the current rules (a cron or hourly schedule counts as monthly). */
function cadenceDays(rules: RotationRules | undefined): number {
  if (rules?.AutomaticallyAfterDays) return rules.AutomaticallyAfterDays;
  const rate = /^rate\((\d+) days?\)$/.exec(rules?.ScheduleExpression ?? '');
  return rate ? Number(rate[1]) : 30;
}

/**
 * Proposes schedules so that no two secrets on one target share a window, with at most
 * `maxPerWindow` windows starting in any slot: slots are (day of the cadence, window of the
 * day), filled least-used first. An interval under 28 days keeps its cadence as
 * `cron(0 H D/N * ? *)` (from day D of each month, every N days); 28 days and more, cron and
 * hourly schedules become monthly `cron(0 H D * ? *)` with D from 1 to 28.
 */
export function proposeSpread(
  rows: readonly FleetRow[],
  windowHours: number,
  maxPerWindow: number,
) {
  const perDay = Math.floor(24 / windowHours);
  const used = new Map<string, { count: number; targets: Set<string> }>();
  const proposals: SpreadProposal[] = [];
  const unplaced: string[] = [];
  const ordered = [...rows].sort(
    (a, b) =>
      (a.target ?? a.name).localeCompare(b.target ?? b.name) || a.name.localeCompare(b.name),
  );
  for (const row of ordered) {
    const target = row.target ?? `secret ${row.name}`;
    const cadence = cadenceDays(row.rules);
    const days = Math.min(cadence, 28);
    let best: { day: number; slot: number; count: number } | undefined;
    for (let day = 1; day <= days; day++) {
      for (let slot = 0; slot < perDay; slot++) {
        const entry = used.get(`${day}/${slot}`);
        const count = entry?.count ?? 0;
        if (count >= maxPerWindow || entry?.targets.has(target)) continue;
        if (!best || count < best.count) best = { day, slot, count };
      }
    }
    if (!best) {
      unplaced.push(row.name);
      continue;
    }
    const key = `${best.day}/${best.slot}`;
    const entry = used.get(key) ?? { count: 0, targets: new Set<string>() };
    entry.count++;
    entry.targets.add(target);
    used.set(key, entry);
    const hour = best.slot * windowHours;
    const dayField = cadence < 28 ? `${best.day}/${cadence}` : `${best.day}`;
    const after: RotationRules = {
      ScheduleExpression: `cron(0 ${hour} ${dayField} * ? *)`,
      Duration: `${windowHours}h`,
    };
    parseRotationRules(after);
    proposals.push({ name: row.name, arn: row.arn, target, before: row.schedule, after });
  }
  return { proposals, unplaced };
}

/**
 * `rotator schedule --spread [filters] --window 3h [--max-per-window N] [--apply]`: proposes
 * (dry run, before and after) and with `--apply` sets, through RotateSecret with
 * RotateImmediately=false, schedules that never put two secrets of one target in one window.
 * On AWS that RotateSecret also runs the function's testSecret against the configuration.
 */
export async function scheduleSpreadCommand(
  ctx: CommandContext,
  options: SpreadOptions,
): Promise<number> {
  const rows = (await fleetRows(ctx, options.filters)).filter(
    (r) => r.state !== 'disabled-stray-pending',
  );
  const { proposals, unplaced } = proposeSpread(rows, options.windowHours, options.maxPerWindow);
  const changed = proposals.filter(
    (p) => p.before !== `${p.after.ScheduleExpression} within ${p.after.Duration}`,
  );
  let applied = 0;
  if (options.apply) {
    const bucket = new TokenBucket(20);
    for (const proposal of changed) {
      await withThrottlingRetry(bucket, () =>
        ctx.sm.send(
          new RotateSecretCommand({
            SecretId: proposal.arn,
            RotationRules: proposal.after,
            RotateImmediately: false,
          }),
        ),
      );
      applied++;
    }
  }
  if (ctx.json) {
    ctx.out.json({ apply: options.apply, applied, proposals, unplaced });
  } else {
    const { out } = ctx;
    if (proposals.length === 0) out.line('No rotation-enabled secret matches.');
    else {
      const lines = renderTable(
        ['SECRET', 'TARGET', 'BEFORE', 'AFTER'],
        proposals.map((p) => [
          p.name,
          p.target,
          p.before ?? '-',
          `${p.after.ScheduleExpression} within ${p.after.Duration}`,
        ]),
        out.style,
      );
      for (const line of lines) out.line(line);
    }
    for (const name of unplaced) {
      out.error(`${name}: no free window (raise --max-per-window or shorten --window)`);
    }
    out.line(
      options.apply
        ? `Applied ${applied} schedule(s) (RotateSecret, RotateImmediately=false).`
        : `Dry run: ${changed.length} schedule(s) would change. Apply with --apply.`,
    );
  }
  return unplaced.length > 0 ? 1 : 0;
}
