/**
 * Rotation schedules as Secrets Manager defines them (API `RotationRulesType`, User Guide
 * "Schedule expressions"): `AutomaticallyAfterDays` (1–1000) or a `ScheduleExpression`
 * (`rate(N hours|days)` or a 6-field AWS `cron(...)`, UTC, at most one rotation every four
 * hours), plus an optional window `Duration` like `3h`.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MINIMUM_INTERVAL = 4 * HOUR;

/** A validated schedule. */
export type Schedule =
  | { kind: 'days'; days: number }
  | { kind: 'hours'; hours: number }
  | { kind: 'cron'; cron: CronSchedule };

/** Raised for an invalid schedule; the server maps it to `InvalidParameterException`. */
export class ScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleError';
  }
}

/** The `RotationRules` structure of the API. */
export interface RotationRules {
  AutomaticallyAfterDays?: number;
  Duration?: string;
  ScheduleExpression?: string;
}

/**
 * Validates `RotationRules` and returns the schedule, or `undefined` when the rules hold no
 * schedule. "You can set the rotation schedule with AutomaticallyAfterDays or
 * ScheduleExpression, but not both" (API `RotationRulesType`).
 */
export function parseRotationRules(rules: RotationRules): Schedule | undefined {
  const {
    AutomaticallyAfterDays: days,
    ScheduleExpression: expression,
    Duration: duration,
  } = rules;
  if (days !== undefined && expression !== undefined) {
    throw new ScheduleError(
      'You cannot specify both rotation frequency and schedule expression together.',
    );
  }
  let schedule: Schedule | undefined;
  if (days !== undefined) {
    if (!Number.isInteger(days) || days < 1 || days > 1000) {
      throw new ScheduleError('RotationRules.AutomaticallyAfterDays must be within 1-1000.');
    }
    schedule = { kind: 'days', days };
  } else if (expression !== undefined) {
    schedule = parseScheduleExpression(expression);
  }
  if (duration !== undefined) validateDuration(duration, schedule);
  return schedule;
}

/** Parses `rate(...)` or `cron(...)`. */
export function parseScheduleExpression(expression: string): Schedule {
  if (expression.length < 1 || expression.length > 256) {
    throw new ScheduleError('ScheduleExpression must be 1-256 characters long.');
  }
  const rate = /^rate\(\s*(\d+)\s+(hour|hours|day|days)\s*\)$/.exec(expression.trim());
  if (rate) {
    const value = Number(rate[1]);
    const unit = rate[2] as string;
    if (value < 1) throw new ScheduleError('The rate value must be a positive integer.');
    if (unit.startsWith('hour')) {
      if (value < 4) {
        throw new ScheduleError(
          'The schedule expression must not rotate more often than every 4 hours.',
        );
      }
      return value % 24 === 0
        ? { kind: 'days', days: value / 24 }
        : { kind: 'hours', hours: value };
    }
    if (value > 1000) throw new ScheduleError('The rate in days must be within 1-1000.');
    return { kind: 'days', days: value };
  }
  const cron = /^cron\((.*)\)$/.exec(expression.trim());
  if (cron) {
    const parsed = parseCron(cron[1] as string);
    assertMinimumInterval(parsed);
    return { kind: 'cron', cron: parsed };
  }
  throw new ScheduleError(`Invalid ScheduleExpression: must be rate(...) or cron(...).`);
}

function validateDuration(duration: string, schedule: Schedule | undefined): void {
  // API: 2–3 characters, pattern [0-9h]+; the window is in whole hours.
  const match = /^(\d{1,2})h$/.exec(duration);
  const hours = match ? Number(match[1]) : Number.NaN;
  if (!match || hours < 1 || hours > 24) {
    throw new ScheduleError('Duration must be a number of hours between 1h and 24h, e.g. 3h.');
  }
  if (schedule?.kind === 'hours' && hours > schedule.hours) {
    throw new ScheduleError('The rotation window must not extend into the next rotation window.');
  }
  // rate() windows start at midnight: the day's last one must end by the next midnight.
  if (schedule?.kind === 'hours' && Math.floor(23 / schedule.hours) * schedule.hours + hours > 24) {
    throw new ScheduleError('The rotation window must not extend into the next UTC day.');
  }
  // "The rotation window must not extend into the next UTC day" (API RotationRulesType).
  if (schedule?.kind === 'cron' && [...schedule.cron.hours].some((h) => h + hours > 24)) {
    throw new ScheduleError('The rotation window must not extend into the next UTC day.');
  }
  // Several hours a day: each window must end by the start of the next one.
  if (schedule?.kind === 'cron') {
    const sorted = [...schedule.cron.hours].sort((a, b) => a - b);
    if (sorted.some((h, i) => i > 0 && h - (sorted[i - 1] as number) < hours)) {
      throw new ScheduleError('The rotation window must not extend into the next rotation window.');
    }
  }
}

/** A parsed AWS cron expression: allowed values per field (UTC). */
export interface CronSchedule {
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  /** `undefined` when the field is `?`. */
  readonly daysOfMonth: ReadonlySet<number> | undefined;
  /** Day-of-month `L`: last day of the month. */
  readonly lastDayOfMonth: boolean;
  readonly months: ReadonlySet<number>;
  /** AWS numbers weekdays 1 (SUN) – 7 (SAT); stored as JS 0–6. `undefined` when `?`. */
  readonly daysOfWeek: ReadonlySet<number> | undefined;
  /** `d#n`: the n-th weekday d of the month (JS weekday, n). */
  readonly nthWeekday: { weekday: number; n: number } | undefined;
  /** True when the schedule names hours (runs more than once a day). */
  readonly hourly: boolean;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function parseField(
  field: string,
  min: number,
  max: number,
  names: readonly string[] = [],
  nameBase = 1,
): Set<number> {
  const values = new Set<number>();
  const toNumber = (token: string): number => {
    const index = names.indexOf(token.toUpperCase());
    const value = index >= 0 ? index + nameBase : Number(token);
    if (!/^\d+$/.test(token) && index < 0) throw new ScheduleError(`Invalid cron field: ${field}`);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new ScheduleError(`Invalid cron field: ${field}`);
    }
    return value;
  };
  for (const part of field.split(',')) {
    const [range, stepText] = part.split('/') as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1)
      throw new ScheduleError(`Invalid cron field: ${field}`);
    let start: number;
    let end: number;
    if (range === '*') {
      start = min;
      end = max;
    } else if (range.includes('-')) {
      const [a, b] = range.split('-') as [string, string];
      start = toNumber(a);
      end = toNumber(b);
    } else {
      start = toNumber(range);
      end = stepText === undefined ? start : max;
    }
    if (end < start) throw new ScheduleError(`Invalid cron field: ${field}`);
    for (let v = start; v <= end; v += step) values.add(v);
  }
  return values;
}

/**
 * Parses the six fields of an AWS cron expression: minutes hours day-of-month month
 * day-of-week year. One of day-of-month and day-of-week must be `?`. Supports `*`, `?`,
 * lists, ranges, steps, month/weekday names, `L` in day-of-month and `#` in day-of-week.
 * Secrets Manager requires minutes `0` and year `*` (User Guide, schedule expressions).
 */
export function parseCron(body: string): CronSchedule {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6) {
    throw new ScheduleError(
      'A cron expression needs 6 fields: minutes hours day-of-month month day-of-week year.',
    );
  }
  const [min, hour, dom, month, dow, year] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (year !== '*')
    throw new ScheduleError('The year field of a rotation cron expression must be *.');
  if (min !== '0')
    throw new ScheduleError('The minutes field of a rotation cron expression must be 0.');
  if ((dom === '?') === (dow === '?')) {
    throw new ScheduleError('Exactly one of day-of-month and day-of-week must be ?.');
  }
  const minutes = parseField(min, 0, 59);
  const hours = parseField(hour, 0, 23);
  const months = parseField(month, 1, 12, MONTHS, 1);
  let daysOfMonth: Set<number> | undefined;
  let lastDayOfMonth = false;
  if (dom === 'L') lastDayOfMonth = true;
  else if (dom !== '?') daysOfMonth = parseField(dom, 1, 31);
  let daysOfWeek: Set<number> | undefined;
  let nthWeekday: { weekday: number; n: number } | undefined;
  if (dow !== '?') {
    const nth = /^(\w+)#([1-5])$/.exec(dow);
    if (nth) {
      const [day] = [...parseField(nth[1] as string, 1, 7, WEEKDAYS, 1)];
      nthWeekday = { weekday: (day as number) - 1, n: Number(nth[2]) };
    } else {
      daysOfWeek = new Set([...parseField(dow, 1, 7, WEEKDAYS, 1)].map((d) => d - 1));
    }
  }
  return {
    minutes,
    hours,
    daysOfMonth,
    lastDayOfMonth,
    months,
    daysOfWeek,
    nthWeekday,
    hourly: hours.size > 1,
  };
}

function dayMatches(cron: CronSchedule, date: Date): boolean {
  if (!cron.months.has(date.getUTCMonth() + 1)) return false;
  const day = date.getUTCDate();
  if (cron.lastDayOfMonth) {
    const last = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
    return day === last;
  }
  if (cron.daysOfMonth) return cron.daysOfMonth.has(day);
  if (cron.nthWeekday) {
    return date.getUTCDay() === cron.nthWeekday.weekday && Math.ceil(day / 7) === cron.nthWeekday.n;
  }
  return cron.daysOfWeek?.has(date.getUTCDay()) ?? false;
}

/** The first time strictly after `after` (ms) that the cron expression names; scans 5 years. */
export function nextCronTime(cron: CronSchedule, after: number): number | undefined {
  const start = new Date(after);
  let day = Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate());
  const sortedHours = [...cron.hours].sort((a, b) => a - b);
  const sortedMinutes = [...cron.minutes].sort((a, b) => a - b);
  for (let i = 0; i < 366 * 5; i++, day += DAY) {
    if (!dayMatches(cron, new Date(day))) continue;
    for (const h of sortedHours) {
      for (const m of sortedMinutes) {
        const t = day + h * HOUR + m * 60_000;
        if (t > after) return t;
      }
    }
  }
  return undefined;
}

function assertMinimumInterval(cron: CronSchedule): void {
  // "You can rotate a secret as often as every four hours" (API RotationRulesType).
  let t = Date.UTC(2000, 0, 1);
  let previous: number | undefined;
  for (let i = 0; i < 64; i++) {
    const next = nextCronTime(cron, t);
    if (next === undefined) {
      if (previous === undefined) throw new ScheduleError('The cron expression never fires.');
      return;
    }
    if (previous !== undefined && next - previous < MINIMUM_INTERVAL) {
      throw new ScheduleError(
        'The schedule expression must not rotate more often than every 4 hours.',
      );
    }
    previous = next;
    t = next;
  }
}

function startOfUtcDay(ms: number): number {
  return Math.floor(ms / DAY) * DAY;
}

/**
 * The start of the next rotation window after a rotation (or manual value change, which
 * "is considered a valid rotation") at `anchor`. Days: the UTC day `anchor + N days` (AWS
 * picks a random hour in it; the twin uses its start so tests are deterministic). Hours:
 * windows start at each UTC midnight ("the rotation window starts at midnight") and every
 * N hours after it, the first one at least N hours after the anchor. Cron: the next time
 * the expression names.
 */
export function nextRotationTime(schedule: Schedule, anchor: number): number | undefined {
  switch (schedule.kind) {
    case 'days':
      return startOfUtcDay(anchor + schedule.days * DAY);
    case 'hours': {
      // Windows start at 00:00 UTC each day and every N hours after; the first one at
      // least N hours after the anchor (past the day's last window: the next midnight).
      const step = schedule.hours * HOUR;
      const earliest = anchor + step;
      const base = startOfUtcDay(earliest);
      return Math.min(base + Math.ceil((earliest - base) / step) * step, base + DAY);
    }
    case 'cron':
      return nextCronTime(schedule.cron, anchor);
  }
}
