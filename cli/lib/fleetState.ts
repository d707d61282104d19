import {
  BatchGetSecretValueCommand,
  DescribeSecretCommand,
  type Filter,
  ListSecretVersionIdsCommand,
  type SecretListEntry,
} from '@aws-sdk/client-secrets-manager';
import {
  parseRotationRules,
  type RotationRules,
  type Schedule,
} from '../../local/secrets-manager/schedule.js';
import {
  activeFreezeWindow,
  FREEZE_TAG,
  parseFreezeWindows,
} from '../../shared/governance/freeze.js';
import { secretRegistry } from '../../shared/logging/redaction.js';
import type { CommandContext } from './context.js';
import { listSecrets } from './secretFilters.js';
import { AWSCURRENT, AWSPENDING, functionName, parseJsonObject } from './secretState.js';
import { credentialTarget } from './strategy.js';

const HOUR = 3_600_000;

/**
 * The state of one secret in the fleet:
 * - `ok`: rotated, next rotation ahead;
 * - `rotating`: a rotation is pending, younger than the rotation window;
 * - `failing`: a rotation is pending for longer than the window (Secrets Manager has given up
 *   retrying within it);
 * - `overdue`: past its next rotation plus the window, with nothing pending;
 * - `never-rotated`: rotation configured, never completed;
 * - `frozen`: inside a freeze window (docs/governance.md): rotations are refused;
 * - `disabled-stray-pending`: rotation off, yet a version holds AWSPENDING (nothing will
 *   finish it; the next RotateSecret would be refused).
 */
export type FleetState =
  | 'ok'
  | 'rotating'
  | 'failing'
  | 'overdue'
  | 'never-rotated'
  | 'frozen'
  | 'disabled-stray-pending';

/** One row of `rotator fleet`. */
export interface FleetRow {
  name: string;
  arn: string;
  kind: string;
  function: string | undefined;
  schedule: string | undefined;
  /** Rotation window in hours (Duration, else the service's default for the schedule). */
  windowHours: number;
  lastRotated: string | undefined;
  nextRotation: string | undefined;
  state: FleetState;
  /** Why the state, in a few words (the pending version's age, the freeze window...). */
  detail?: string;
  /** Where the credential is used (`postgres db1:5432`), when the kind says. */
  target: string | undefined;
  /** The admin secret the rotation depends on (`masterarn`), by name or ARN. */
  admin: string | undefined;
  /** The parsed schedule, for the timeline (not printed). */
  rules?: RotationRules;
}

/** The schedule in the API's words: `rate(30 days)`, `cron(...)`, with its window. */
export function scheduleText(rules: RotationRules | undefined): string | undefined {
  if (!rules) return undefined;
  const base =
    rules.ScheduleExpression ??
    (rules.AutomaticallyAfterDays !== undefined
      ? `rate(${rules.AutomaticallyAfterDays} days)`
      : undefined);
  if (!base) return undefined;
  return rules.Duration ? `${base} within ${rules.Duration}` : base;
}

/**
 * The rotation window: `Duration` when set; else, as the service does, one hour for a
 * schedule in hours and the rest of the day for one in days or cron.
 */
export function windowHours(rules: RotationRules | undefined): number {
  const duration = /^(\d+)h$/.exec(rules?.Duration ?? '');
  if (duration) return Number(duration[1]);
  let schedule: Schedule | undefined;
  try {
    schedule = rules ? parseRotationRules(rules) : undefined;
  } catch {
    schedule = undefined;
  }
  return schedule?.kind === 'hours' ? 1 : 24;
}

/** AWSCURRENT values of many secrets by ARN, 20 per BatchGetSecretValue call; registered for scrubbing. */
export async function currentValues(
  ctx: CommandContext,
  arns: string[],
): Promise<Map<string, string>> {
  const values = new Map<string, string>();
  for (let i = 0; i < arns.length; i += 20) {
    const batch = arns.slice(i, i + 20);
    let token: string | undefined;
    do {
      const page = await ctx.sm.send(
        new BatchGetSecretValueCommand({
          SecretIdList: batch,
          ...(token ? { NextToken: token } : {}),
        }),
      );
      for (const entry of page.SecretValues ?? []) {
        secretRegistry.registerSecretString(entry.SecretString);
        if (entry.ARN && entry.SecretString !== undefined)
          values.set(entry.ARN, entry.SecretString);
      }
      token = page.NextToken;
    } while (token);
  }
  return values;
}

/** When the pending version was created (one ListSecretVersionIds, only for pending secrets). */
async function pendingCreated(ctx: CommandContext, arn: string, versionId: string) {
  let token: string | undefined;
  do {
    const page = await ctx.sm.send(
      new ListSecretVersionIdsCommand({
        SecretId: arn,
        MaxResults: 100,
        ...(token ? { NextToken: token } : {}),
      }),
    );
    const version = page.Versions?.find((v) => v.VersionId === versionId);
    if (version?.CreatedDate) return version.CreatedDate.getTime();
    token = page.NextToken;
  } while (token);
  return undefined;
}

function pendingVersion(entry: SecretListEntry): string | undefined {
  for (const [id, stages] of Object.entries(entry.SecretVersionsToStages ?? {})) {
    if (stages?.includes(AWSPENDING) && !stages.includes(AWSCURRENT)) return id;
  }
  return undefined;
}

function frozenBy(entry: Pick<SecretListEntry, 'Tags'>, now: number): string | undefined {
  const declaration = entry.Tags?.find((t) => t.Key === FREEZE_TAG)?.Value;
  if (!declaration) return undefined;
  try {
    return activeFreezeWindow(parseFreezeWindows(declaration, FREEZE_TAG), now)?.text;
  } catch {
    return undefined;
  }
}

/**
 * The active freeze window of each admin secret in `ids` (named by `masterarn`), as the
 * functions read it in createSecret: one DescribeSecret per distinct admin secret (a handful
 * per fleet: one per database). One that cannot be described (another account, no access)
 * counts as not frozen, as the functions log and go on.
 */
async function adminFreezes(
  ctx: CommandContext,
  ids: Iterable<string>,
  now: number,
): Promise<Map<string, string>> {
  const frozen = new Map<string, string>();
  for (const id of new Set(ids)) {
    const described = await ctx.sm
      .send(new DescribeSecretCommand({ SecretId: id }))
      .catch(() => undefined);
    const window = described && frozenBy(described, now);
    if (window) frozen.set(id, `${window} (admin secret ${described.Name ?? id})`);
  }
  return frozen;
}

/**
 * Every secret with rotation configured (and every secret whose rotation is off but holds a
 * stray AWSPENDING) matching `filters`, with its state. Calls: ListSecrets (100 a page),
 * BatchGetSecretValue (20 a call) for kinds, targets and admin secrets, and one
 * ListSecretVersionIds per secret with a pending rotation, one DescribeSecret per admin
 * secret (its freeze windows). Values are never printed.
 */
export async function fleetRows(ctx: CommandContext, filters: Filter[]): Promise<FleetRow[]> {
  const now = ctx.now();
  const entries = (await listSecrets(ctx.sm, filters)).filter(
    (e) => e.ARN && (e.RotationEnabled === true || pendingVersion(e) !== undefined),
  );
  const values = await currentValues(
    ctx,
    entries.map((e) => e.ARN as string),
  );
  const fieldsByArn = new Map([...values].map(([arn, value]) => [arn, parseJsonObject(value)]));
  const admins = new Map<string, string>();
  for (const [arn, fields] of fieldsByArn) {
    const admin = fields?.masterarn;
    if (typeof admin === 'string' && admin) admins.set(arn, admin);
  }
  const frozenAdmins = await adminFreezes(ctx, admins.values(), now);
  const rows: FleetRow[] = [];
  for (const entry of entries) {
    const arn = entry.ARN as string;
    const rules = entry.RotationRules as RotationRules | undefined;
    const fields = fieldsByArn.get(arn);
    const { kind: kindName, target } = credentialTarget(fields, entry.RotationLambdaARN);
    const window = windowHours(rules);
    const pending = pendingVersion(entry);
    const next = entry.NextRotationDate?.getTime();
    let state: FleetState = 'ok';
    let detail: string | undefined;
    if (entry.RotationEnabled !== true) {
      state = 'disabled-stray-pending';
      detail = `AWSPENDING on ${pending?.slice(0, 8)}`;
    } else if (pending) {
      const created = await pendingCreated(ctx, arn, pending);
      const age = created === undefined ? undefined : now - created;
      state = age !== undefined && age > window * HOUR ? 'failing' : 'rotating';
      detail = age === undefined ? 'pending' : `pending for ${Math.round(age / 60_000)} min`;
    } else if (next !== undefined && now > next + window * HOUR) {
      state = 'overdue';
      detail = `due ${Math.round((now - next) / HOUR)} h ago`;
    } else if (!entry.LastRotatedDate) {
      state = 'never-rotated';
    }
    const admin = admins.get(arn);
    const freeze = frozenBy(entry, now) ?? (admin ? frozenAdmins.get(admin) : undefined);
    if (freeze && (state === 'ok' || state === 'never-rotated' || state === 'overdue')) {
      state = 'frozen';
      detail = `freeze ${freeze}`;
    }
    rows.push({
      name: entry.Name ?? arn,
      arn,
      kind: kindName,
      function: functionName(entry.RotationLambdaARN),
      schedule: scheduleText(rules),
      windowHours: window,
      lastRotated: entry.LastRotatedDate?.toISOString(),
      nextRotation: entry.NextRotationDate?.toISOString(),
      state,
      ...(detail ? { detail } : {}),
      target,
      admin,
      ...(rules ? { rules } : {}),
    });
  }
  return rows;
}
