import { writeFileSync } from 'node:fs';
import type { Filter } from '@aws-sdk/client-secrets-manager';
import type { CommandContext } from '../lib/context.js';
import { fleetReportHtml } from '../lib/fleetReport.js';
import { type FleetRow, fleetRows } from '../lib/fleetState.js';
import { formatDate, renderTable } from '../lib/output.js';

/** Options of {@link fleetCommand}. */
export interface FleetOptions {
  filters: Filter[];
  /** Write the HTML report here. */
  html?: string;
}

/** States that make `rotator fleet` exit 1: a daily CI check fails on them. */
const ALARMING = new Set(['overdue', 'failing']);

/**
 * `rotator fleet`: one row per secret with rotation configured (filters as list-secrets):
 * kind, function, schedule, last and next rotation, state, target, admin secret. `--json`;
 * `--html <file>` writes a self-contained report with a 30-day timeline of rotation windows
 * per target. Exit 1 when any secret is overdue or failing.
 */
export async function fleetCommand(ctx: CommandContext, options: FleetOptions): Promise<number> {
  const rows = await fleetRows(ctx, options.filters);
  const alarming = rows.filter((r) => ALARMING.has(r.state));
  if (options.html) writeFileSync(options.html, fleetReportHtml(rows, ctx.now()));
  if (ctx.json) {
    ctx.out.json({
      generatedAt: new Date(ctx.now()).toISOString(),
      secrets: rows.map(({ rules: _rules, ...row }) => row),
      counts: countStates(rows),
    });
  } else {
    render(ctx, rows);
    if (options.html) ctx.out.line(`Report written to ${options.html}`);
  }
  return alarming.length > 0 ? 1 : 0;
}

function countStates(rows: readonly FleetRow[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const row of rows) counts[row.state] = (counts[row.state] ?? 0) + 1;
  return counts;
}

function render(ctx: CommandContext, rows: readonly FleetRow[]): void {
  const { out } = ctx;
  if (rows.length === 0) {
    out.line('No secret with rotation configured matches.');
    return;
  }
  const colour = (state: string) =>
    ALARMING.has(state)
      ? out.style.red(state)
      : state === 'ok'
        ? out.style.green(state)
        : out.style.yellow(state);
  for (const line of renderTable(
    ['SECRET', 'KIND', 'FUNCTION', 'SCHEDULE', 'LAST ROTATED', 'NEXT', 'STATE', 'TARGET', 'ADMIN'],
    rows.map((r) => [
      r.name,
      r.kind,
      r.function ?? '-',
      r.schedule ?? '-',
      r.lastRotated ? formatDate(new Date(r.lastRotated)) : 'never',
      r.nextRotation ? formatDate(new Date(r.nextRotation)) : '-',
      `${colour(r.state)}${r.detail ? ` (${r.detail})` : ''}`,
      r.target ?? '-',
      r.admin ? (r.admin.split(':secret:')[1] ?? r.admin) : '-',
    ]),
    out.style,
  ))
    out.line(line);
  const counts = countStates(rows);
  out.line(
    Object.entries(counts)
      .map(([state, n]) => `${state} ${n}`)
      .join(', '),
  );
}
