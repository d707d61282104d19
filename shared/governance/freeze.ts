import { RotationError } from '../errors.js';

/** The tag (on a secret or its admin secret) that declares freeze windows. */
export const FREEZE_TAG = 'rotator:freeze';

/**
 * One freeze window: a one-off interval (`2026-12-20T00:00Z/2027-01-04T00:00Z`, or whole days
 * `2026-12-20/2027-01-04`) or a weekly one in UTC (`Fri16:00/Mon08:00`, which may wrap over
 * the week's end). Start included, end excluded.
 */
export type FreezeWindow =
  | { kind: 'once'; start: number; end: number; text: string }
  | { kind: 'weekly'; start: number; end: number; text: string };

/** A freeze declaration that does not parse: names where it was declared, never a value. */
export class FreezeWindowError extends RotationError {
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`Invalid freeze window in ${field}: ${problem}`);
    this.field = field;
  }
}

/**
 * createSecret refused inside a freeze window. Its name is what the step metrics count as
 * `RotationFrozen`, so an alarm can tell a freeze from a fault.
 */
export class RotationFrozenError extends RotationError {
  constructor(window: FreezeWindow, source: string) {
    super(
      `Rotation frozen: ${source} declares the freeze window ${window.text} (UTC) and it is in effect; createSecret changed nothing. Secrets Manager re-attempts the rotation on its next schedule or RotateSecret after the window`,
    );
  }
}

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const INSTANT = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}):(\d{2})Z)?$/;
const WEEKLY = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)(\d{2}):(\d{2})$/;

function instant(text: string, field: string): number {
  const match = INSTANT.exec(text);
  const ms = match ? Date.parse(`${match[1]}T${match[2] ?? '00'}:${match[3] ?? '00'}:00Z`) : NaN;
  if (!match || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== match[1]) {
    throw new FreezeWindowError(
      field,
      `"${text}" is not a UTC time (YYYY-MM-DD or YYYY-MM-DDThh:mmZ)`,
    );
  }
  return ms;
}

function weekMinute(text: string, field: string): number | undefined {
  const match = WEEKLY.exec(text);
  if (!match) return undefined;
  const hours = Number(match[2]);
  const minutes = Number(match[3]);
  if (hours > 23 || minutes > 59) {
    throw new FreezeWindowError(field, `"${text}" has no such time of day`);
  }
  return DAYS.indexOf(match[1] as string) * 1440 + hours * 60 + minutes;
}

/**
 * Parses a declaration: windows separated by spaces (tag values allow letters, digits,
 * spaces and `_ . : / = + - @`, so every form here fits in a tag). Throws
 * {@link FreezeWindowError} naming `field` (e.g. `tag rotator:freeze of <secret>`).
 */
export function parseFreezeWindows(declaration: string, field: string): FreezeWindow[] {
  const windows: FreezeWindow[] = [];
  for (const text of declaration.trim().split(/\s+/).filter(Boolean)) {
    const [from, to, extra] = text.split('/');
    if (from === undefined || to === undefined || extra !== undefined) {
      throw new FreezeWindowError(field, `"${text}" is not START/END`);
    }
    const weeklyStart = weekMinute(from, field);
    if (weeklyStart !== undefined) {
      const weeklyEnd = weekMinute(to, field);
      if (weeklyEnd === undefined || weeklyEnd === weeklyStart) {
        throw new FreezeWindowError(
          field,
          `"${text}" needs a different weekly end such as Mon08:00`,
        );
      }
      windows.push({ kind: 'weekly', start: weeklyStart, end: weeklyEnd, text });
      continue;
    }
    const start = instant(from, field);
    const end = instant(to, field);
    if (end <= start) throw new FreezeWindowError(field, `"${text}" ends before it starts`);
    windows.push({ kind: 'once', start, end, text });
  }
  return windows;
}

/** The window `now` falls in, if any. */
export function activeFreezeWindow(
  windows: readonly FreezeWindow[],
  now: number,
): FreezeWindow | undefined {
  const date = new Date(now);
  const minute =
    ((date.getUTCDay() + 6) % 7) * 1440 + date.getUTCHours() * 60 + date.getUTCMinutes();
  return windows.find((w) => {
    if (w.kind === 'once') return now >= w.start && now < w.end;
    // A weekly window may wrap over Sunday night into Monday.
    return w.start < w.end
      ? minute >= w.start && minute < w.end
      : minute >= w.start || minute < w.end;
  });
}

/** A declaration and where it came from, for {@link assertNotFrozen}. */
export interface FreezeDeclaration {
  /** Human-readable origin, e.g. `the tag rotator:freeze of secret <arn>`. */
  source: string;
  declaration: string;
}

/** Throws {@link RotationFrozenError} when `now` is inside any declared window. */
export function assertNotFrozen(declarations: readonly FreezeDeclaration[], now: number): void {
  for (const { source, declaration } of declarations) {
    const window = activeFreezeWindow(parseFreezeWindows(declaration, source), now);
    if (window) throw new RotationFrozenError(window, source);
  }
}
