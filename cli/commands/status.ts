import {
  DescribeSecretCommand,
  ListSecretsCommand,
  type SecretListEntry,
} from '@aws-sdk/client-secrets-manager';
import type { CommandContext } from '../lib/context.js';
import { scheduleText } from '../lib/fleetState.js';
import { formatAge, formatDate, renderTable, shortId } from '../lib/output.js';
import {
  failedReplicas,
  isReplica,
  type ReplicaState,
  recreateReplicaFix,
  replicaStates,
} from '../lib/replication.js';
import {
  AWSCURRENT,
  AWSPENDING,
  functionName,
  type LocalRotationRecord,
  loadSecretState,
  localRotationRecords,
  POSSIBLY_RUNNING_MS,
  type SecretState,
  versionCreationDates,
  versionWith,
} from '../lib/secretState.js';
import { rotatorCommand } from '../lib/suggest.js';

/** Options of {@link statusCommand}. */
export interface StatusOptions {
  secrets: string[];
  /** List every secret, not only rotation-enabled ones. */
  all: boolean;
}

/** One row of `status --json`. */
export interface StatusRow {
  name: string;
  arn: string;
  rotationEnabled: boolean;
  rotator: string | undefined;
  schedule: string | undefined;
  lastRotated: string | undefined;
  nextRotation: string | undefined;
  versions: { versionId: string; labels: string[] }[];
  /**
   * `ok`, `in-progress`, `pending-left-behind`, `failed` (twin), `disabled`, or
   * `stray-pending`: AWSPENDING on a secret whose rotation is off (nothing will finish it).
   */
  state: string;
  /** Set when a rotation is left pending: what is known about it. */
  pending?: { versionId: string; ageSeconds?: number; step?: string; message?: string };
  /** Set for a multi-Region secret: a replica (of `primaryRegion`) or a primary's replicas. */
  replication?: { primaryRegion: string; replica: boolean; replicas: ReplicaState[] };
}

function toRow(
  s: Pick<
    SecretState,
    | 'arn'
    | 'name'
    | 'rotationEnabled'
    | 'rotationLambdaArn'
    | 'rotationRules'
    | 'lastRotatedDate'
    | 'nextRotationDate'
    | 'stages'
    | 'created'
    | 'primaryRegion'
    | 'replicas'
  >,
  local: LocalRotationRecord | undefined,
  now: number,
): StatusRow {
  const current = versionWith(s.stages, AWSCURRENT);
  const pending = versionWith(s.stages, AWSPENDING);
  const left = pending !== undefined && pending !== current;
  const record = local && local.versionId === pending ? local : undefined;
  const created = pending ? s.created.get(pending) : undefined;
  // Without the twin's record (AWS), a young pending version is most likely a rotation that
  // is still running; an old one is stuck. Only where rotation is on: with rotation off no
  // rotation runs, and AWSPENDING is a stray label (put by hand, or left by a cancel).
  const young = !local && created !== undefined && now - created.getTime() < POSSIBLY_RUNNING_MS;
  const enabled = s.rotationEnabled === true;
  let state = enabled ? 'ok' : 'disabled';
  if (left) {
    state = !enabled
      ? 'stray-pending'
      : record?.state === 'InProgress' || young
        ? 'in-progress'
        : record?.state === 'Failed'
          ? 'failed'
          : 'pending-left-behind';
  }
  return {
    name: s.name,
    arn: s.arn,
    rotationEnabled: s.rotationEnabled === true,
    rotator: functionName(s.rotationLambdaArn),
    schedule: scheduleText(s.rotationRules),
    lastRotated: s.lastRotatedDate?.toISOString(),
    nextRotation: s.nextRotationDate?.toISOString(),
    versions: Object.entries(s.stages).map(([versionId, labels]) => ({ versionId, labels })),
    state,
    ...(left && pending
      ? {
          pending: {
            versionId: pending,
            ...(created ? { ageSeconds: Math.round((now - created.getTime()) / 1000) } : {}),
            ...(record?.step ? { step: record.step } : {}),
            ...(record?.message ? { message: record.message } : {}),
          },
        }
      : {}),
    ...(s.primaryRegion
      ? {
          replication: {
            primaryRegion: s.primaryRegion,
            replica: isReplica(s),
            replicas: s.replicas,
          },
        }
      : {}),
  };
}

function fromListEntry(e: SecretListEntry): Parameters<typeof toRow>[0] {
  return {
    arn: e.ARN ?? '',
    name: e.Name ?? '',
    rotationEnabled: e.RotationEnabled,
    rotationLambdaArn: e.RotationLambdaARN,
    rotationRules: e.RotationRules,
    lastRotatedDate: e.LastRotatedDate,
    nextRotationDate: e.NextRotationDate,
    stages: e.SecretVersionsToStages ?? {},
    created: new Map(),
    primaryRegion: e.PrimaryRegion,
    // ListSecrets does not carry ReplicationStatus: filled in for primaries that are shown.
    replicas: [],
  };
}

/**
 * `status [<secret>…]`: a table of rotation-enabled secrets (or the named ones): rotator,
 * schedule, last and next rotation, labelled versions, and a warning for every rotation left
 * pending. Multi-Region secrets get a REPLICATION column and a warning for every failed
 * replica. Exit 1 when any rotation is left pending or failed, or a replica failed, so
 * scripts can alert on it.
 */
export async function statusCommand(ctx: CommandContext, options: StatusOptions): Promise<number> {
  const now = ctx.now();
  let rows: StatusRow[];
  if (options.secrets.length > 0) {
    rows = [];
    for (const id of options.secrets) {
      const state = await loadSecretState(ctx, id);
      rows.push(toRow(state, state.local, now));
    }
  } else {
    const entries: SecretListEntry[] = [];
    let token: string | undefined;
    do {
      const page = await ctx.sm.send(
        new ListSecretsCommand({ MaxResults: 100, ...(token ? { NextToken: token } : {}) }),
      );
      entries.push(...(page.SecretList ?? []));
      token = page.NextToken;
    } while (token);
    const locals = await localRotationRecords(ctx);
    const shown = (e: ReturnType<typeof fromListEntry>) => {
      const pending = versionWith(e.stages, AWSPENDING);
      return (
        options.all ||
        e.rotationEnabled === true ||
        (pending !== undefined && pending !== versionWith(e.stages, AWSCURRENT))
      );
    };
    const listed = entries.map(fromListEntry).filter(shown);
    for (const entry of listed) {
      if (entry.primaryRegion !== undefined && !isReplica(entry)) {
        const described = await ctx.sm.send(new DescribeSecretCommand({ SecretId: entry.arn }));
        entry.replicas = replicaStates(described.ReplicationStatus);
      }
      const stages = entry.stages;
      const pending = versionWith(stages, AWSPENDING);
      // Ages only where they matter (a pending rotation), one call per such secret.
      if (pending && pending !== versionWith(stages, AWSCURRENT)) {
        entry.created = await versionCreationDates(ctx, entry.arn);
      }
    }
    rows = listed
      .map((e) => toRow(e, locals?.get(e.arn), now))
      .sort((a, b) => a.name.localeCompare(b.name));
  }
  const troubled = rows.filter((r) => r.pending && r.state !== 'in-progress');
  const unreplicated = rows.filter(
    (r) => r.replication && failedReplicas(r.replication).length > 0,
  );
  const exitCode = troubled.length > 0 || unreplicated.length > 0 ? 1 : 0;
  if (ctx.json) {
    ctx.out.json({ secrets: rows });
    return exitCode;
  }
  const { style } = ctx.out;
  if (rows.length === 0) {
    ctx.out.line(
      options.all ? 'No secrets.' : 'No rotation-enabled secrets. (--all lists every secret)',
    );
    return 0;
  }
  const stateCell = (r: StatusRow) =>
    r.state === 'ok'
      ? style.green('ok')
      : r.state === 'in-progress'
        ? style.cyan('rotating')
        : r.state === 'disabled'
          ? style.dim('disabled')
          : r.state === 'stray-pending'
            ? style.yellow('STRAY PENDING')
            : style.red(r.state === 'failed' ? 'FAILED' : 'PENDING');
  const versionsCell = (r: StatusRow) =>
    r.versions
      .map((v) => `${shortId(v.versionId)}:${v.labels.map((l) => l.replace(/^AWS/, '')).join('+')}`)
      .join(' ');
  const date = (iso: string | undefined) => formatDate(iso ? new Date(iso) : undefined);
  const replicationCell = (r: StatusRow): string => {
    const rep = r.replication;
    if (!rep) return '-';
    if (rep.replica) return `replica of ${rep.primaryRegion}`;
    const status = (s: string) =>
      s === 'InSync' ? style.green('ok') : s === 'Failed' ? style.red('FAILED') : style.cyan(s);
    return rep.replicas.map((x) => `${x.region} ${status(x.status)}`).join(', ') || '-';
  };
  // The column appears only where some secret is replicated, so plain setups read as before.
  const replicated = rows.some((r) => r.replication);
  const lines = renderTable(
    [
      'SECRET',
      'STATE',
      'ROTATOR',
      'SCHEDULE',
      'LAST ROTATED',
      'NEXT ROTATION',
      'VERSIONS',
      ...(replicated ? ['REPLICATION'] : []),
    ],
    rows.map((r) => [
      r.name,
      stateCell(r),
      r.rotator ?? '-',
      r.schedule ?? '-',
      date(r.lastRotated),
      date(r.nextRotation),
      versionsCell(r),
      ...(replicated ? [replicationCell(r)] : []),
    ]),
    style,
  );
  for (const line of lines) ctx.out.line(line);
  for (const r of troubled) {
    const p = r.pending;
    if (!p) continue;
    const age = p.ageSeconds !== undefined ? ` for ${formatAge(p.ageSeconds * 1000)}` : '';
    const where = p.step ? `, failed at ${p.step}` : '';
    ctx.out.line();
    ctx.out.line(
      style.yellow(
        r.state === 'stray-pending'
          ? `! ${r.name}: AWSPENDING on version ${shortId(p.versionId)}${age}, but rotation is off: no rotation is running, and none will finish it. RotateSecret is refused until it is resolved.`
          : `! ${r.name}: AWSPENDING left on version ${shortId(p.versionId)}${age}${where}. RotateSecret is refused until it is resolved.`,
      ),
    );
    if (p.message) ctx.out.line(`  ${p.message}`);
    ctx.out.line(
      `  diagnose: ${rotatorCommand(ctx, ['doctor', r.name])}    recover: ${rotatorCommand(ctx, ['unstick', r.name])}`,
    );
  }
  for (const r of unreplicated) {
    for (const failed of r.replication ? failedReplicas(r.replication) : []) {
      ctx.out.line();
      ctx.out.line(
        style.yellow(
          `! ${r.name}: replication to ${failed.region} failed${failed.message ? `: ${failed.message}` : ''}. Readers in ${failed.region} do not get the rotated value.`,
        ),
      );
      ctx.out.line(`  fix: ${recreateReplicaFix(ctx, r.name, failed.region)}`);
    }
  }
  return exitCode;
}
