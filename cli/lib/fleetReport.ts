import {
  nextRotationTime,
  parseRotationRules,
  type Schedule,
} from '../../local/secrets-manager/schedule.js';
import type { FleetRow } from './fleetState.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const HORIZON = 30 * DAY;

/** One rotation window on the timeline. */
export interface TimelineWindow {
  secret: string;
  target: string;
  start: number;
  end: number;
  /** Another secret's window on the same target overlaps this one. */
  collides: boolean;
}

/**
 * Rotation windows of the next 30 days: from each secret's next rotation, repeated by its
 * schedule. A secret with no known target is its own lane. Windows of two secrets on one
 * target that overlap are marked as collisions: both rotations would change credentials on
 * the same server at once (`rotator schedule --spread` proposes a fix).
 */
export function timeline(rows: readonly FleetRow[], now: number): TimelineWindow[] {
  const windows: TimelineWindow[] = [];
  for (const row of rows) {
    if (!row.nextRotation || !row.rules) continue;
    let schedule: Schedule | undefined;
    try {
      schedule = parseRotationRules(row.rules);
    } catch {
      schedule = undefined;
    }
    const target = row.target ?? `secret ${row.name}`;
    let start = Date.parse(row.nextRotation);
    for (let i = 0; i < 400 && start < now + HORIZON; i++) {
      const end = start + row.windowHours * HOUR;
      if (end > now) windows.push({ secret: row.name, target, start, end, collides: false });
      const next = schedule ? nextRotationTime(schedule, start) : undefined;
      if (next === undefined || next <= start) break;
      start = next;
    }
  }
  const byTarget = new Map<string, TimelineWindow[]>();
  for (const w of windows) byTarget.set(w.target, [...(byTarget.get(w.target) ?? []), w]);
  for (const lane of byTarget.values()) {
    lane.sort((a, b) => a.start - b.start);
    for (let i = 0; i < lane.length; i++) {
      for (let j = i + 1; j < lane.length; j++) {
        const a = lane[i] as TimelineWindow;
        const b = lane[j] as TimelineWindow;
        if (b.start >= a.end) break;
        if (a.secret !== b.secret) {
          a.collides = true;
          b.collides = true;
        }
      }
    }
  }
  return windows;
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2433}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #dde;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f4f8}td.state{font-weight:600}
.s-ok{color:#207a3c}.s-rotating{color:#1f5fbf}.s-failing,.s-overdue{color:#b3261e}.s-frozen{color:#6b4fbb}.s-never-rotated,.s-disabled-stray-pending{color:#9a6700}
.lane{display:flex;align-items:center;margin:3px 0}.lane-name{width:260px;flex:none;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.track{position:relative;height:18px;flex:1;background:#f3f4f8;border-radius:3px}
.window{position:absolute;top:2px;height:14px;min-width:3px;background:#5b8def;border-radius:2px}
.window.collision{background:#d93025;outline:2px solid #7f1d1d}
.summary span{margin-right:16px}`;

/** The self-contained fleet report (`rotator fleet --html`): no external assets. */
export function fleetReportHtml(rows: readonly FleetRow[], now: number): string {
  const windows = timeline(rows, now);
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.state, (counts.get(row.state) ?? 0) + 1);
  const table = rows
    .map(
      (r) => `<tr data-secret="${escapeHtml(r.name)}" data-state="${r.state}">
<td>${escapeHtml(r.name)}</td><td>${escapeHtml(r.kind)}</td><td>${escapeHtml(r.function ?? '-')}</td>
<td>${escapeHtml(r.schedule ?? '-')}</td><td>${escapeHtml(r.lastRotated ?? 'never')}</td><td>${escapeHtml(r.nextRotation ?? '-')}</td>
<td class="state s-${r.state}">${r.state}${r.detail ? ` <small>(${escapeHtml(r.detail)})</small>` : ''}</td>
<td>${escapeHtml(r.target ?? '-')}</td><td>${escapeHtml(r.admin ?? '-')}</td></tr>`,
    )
    .join('\n');
  const lanes = [...new Set(windows.map((w) => w.target))].sort();
  const lane = (target: string) => {
    const blocks = windows
      .filter((w) => w.target === target)
      .map((w) => {
        const left = ((w.start - now) / HORIZON) * 100;
        const width = ((w.end - w.start) / HORIZON) * 100;
        const title = `${w.secret}: ${new Date(w.start).toISOString()} – ${new Date(w.end).toISOString()}${w.collides ? ' (collides)' : ''}`;
        return `<div class="window${w.collides ? ' collision' : ''}" data-secret="${escapeHtml(w.secret)}" style="left:${Math.max(0, left).toFixed(3)}%;width:${width.toFixed(3)}%" title="${escapeHtml(title)}"></div>`;
      })
      .join('');
    return `<div class="lane" data-target="${escapeHtml(target)}"><div class="lane-name">${escapeHtml(target)}</div><div class="track">${blocks}</div></div>`;
  };
  const collisions = windows.filter((w) => w.collides);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rotator fleet report</title><style>${STYLE}</style></head>
<body>
<h1>Rotation fleet report</h1>
<p>Generated ${new Date(now).toISOString()} by <code>rotator fleet --html</code>. ${rows.length} secrets.</p>
<p class="summary">${[...counts].map(([state, n]) => `<span class="s-${state}">${state}: ${n}</span>`).join('')}</p>
<table id="fleet"><thead><tr><th>Secret</th><th>Kind</th><th>Function</th><th>Schedule</th><th>Last rotated</th><th>Next rotation</th><th>State</th><th>Target</th><th>Admin secret</th></tr></thead>
<tbody>
${table}
</tbody></table>
<h2>Rotation windows, next 30 days, per target</h2>
<div id="timeline">${lanes.map(lane).join('\n')}</div>
<h2>Collisions</h2>
<ul id="collisions">${
    collisions.length === 0
      ? '<li>None: no two rotations share a target in one window.</li>'
      : collisions
          .map(
            (w) =>
              `<li class="collision">${escapeHtml(w.target)}: ${escapeHtml(w.secret)} at ${new Date(w.start).toISOString()}</li>`,
          )
          .join('')
  }</ul>
</body></html>
`;
}
