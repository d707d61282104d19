import { UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import type { CommandContext } from '../lib/context.js';
import { OperatorError } from '../lib/errors.js';
import { formatAge, shortId } from '../lib/output.js';
import type { Prober } from '../lib/probe.js';
import {
  AWSCURRENT,
  AWSPENDING,
  loadSecretState,
  POSSIBLY_RUNNING_MS,
  parseJsonObject,
  readVersionValue,
  type SecretState,
} from '../lib/secretState.js';
import { canTryLogins, classifySecret, type StrategyKind } from '../lib/strategy.js';
import { awsCommand, rotatorCommand } from '../lib/suggest.js';
import { describeProbe, probeVersions, type VersionProbe } from '../lib/versions.js';

/** One label move of a plan. */
export type PlanStep =
  | { action: 'remove-pending'; versionId: string }
  | { action: 'promote-pending'; versionId: string; fromVersionId: string };

/** What `unstick` proposes, and why. */
export interface UnstickPlan {
  secret: string;
  arn: string;
  strategy: StrategyKind;
  probes: VersionProbe[];
  /** Empty when nothing is stuck or nothing can safely be done. */
  steps: PlanStep[];
  reason: string;
  /** The same plan as AWS CLI commands, to run by hand. */
  commands: string[];
  /** False when the CLI could not decide (both logins refused, database unreachable). */
  decided: boolean;
  /** Cautions that do not change the plan (e.g. a rotation that may still be running). */
  warnings: string[];
  applied?: boolean;
}

/** Options of {@link unstickCommand}. */
export interface UnstickOptions {
  secret: string;
  apply: boolean;
  connectTimeoutMs: number;
  prober: Prober;
}

/**
 * `update-secret-version-stage` moving `label` to `to` (when given) and off `from` (when
 * given): the label moves of unstick's and rollback's plans.
 */
export function moveLabelCommand(
  ctx: CommandContext,
  secret: string,
  label: string,
  move: { to?: string; from?: string },
): string {
  return awsCommand(
    ctx,
    'secretsmanager',
    'update-secret-version-stage',
    '--secret-id',
    secret,
    '--version-stage',
    label,
    ...(move.to !== undefined ? ['--move-to-version-id', move.to] : []),
    ...(move.from !== undefined ? ['--remove-from-version-id', move.from] : []),
  );
}

function commandFor(ctx: CommandContext, state: SecretState, step: PlanStep): string[] {
  const removePending = moveLabelCommand(ctx, state.name, AWSPENDING, { from: step.versionId });
  if (step.action === 'remove-pending') return [removePending];
  return [
    moveLabelCommand(ctx, state.name, AWSCURRENT, {
      to: step.versionId,
      from: step.fromVersionId,
    }),
    removePending,
  ];
}

/** Decides the plan from what the probes showed. Pure: exported for unit tests. */
export function decideUnstick(
  state: Pick<SecretState, 'current' | 'pending'>,
  kind: StrategyKind,
  probes: VersionProbe[],
): Pick<UnstickPlan, 'steps' | 'reason' | 'decided'> {
  const pendingId = state.pending as string;
  const pending = probes.find((p) => p.label === AWSPENDING);
  const current = probes.find((p) => p.label === AWSCURRENT);
  const remove: PlanStep = { action: 'remove-pending', versionId: pendingId };
  if (!pending?.hasValue) {
    return {
      steps: [remove],
      reason:
        'The pending version has no value: createSecret never stored one, so nothing was changed anywhere. Removing AWSPENDING lets the next rotation start cleanly.',
      decided: true,
    };
  }
  if (!canTryLogins(kind)) {
    return {
      steps: [remove],
      reason: `The CLI cannot try ${kind === 'unknown' ? 'this kind of' : kind} credential, so which one the target accepts is unknown. Removing AWSPENDING keeps AWSCURRENT (what clients read today) and lets the next rotation start over.${kind === 'apikey' ? ' A provider-issued key minted for the pending version may remain at the provider until you revoke it.' : ''}`,
      decided: true,
    };
  }
  const currentWorks = current?.outcome === 'accepted';
  const pendingWorks = pending.outcome === 'accepted';
  if (currentWorks) {
    return {
      steps: [remove],
      reason: pendingWorks
        ? 'Both the current and the pending logins work (alternating users): removing AWSPENDING is the conservative fix; the next rotation starts over.'
        : 'The current login works and the pending one does not: the rotation died before the database changed. Removing AWSPENDING from the dead version is safe.',
      decided: true,
    };
  }
  if (pendingWorks && state.current) {
    return {
      steps: [{ action: 'promote-pending', versionId: pendingId, fromVersionId: state.current }],
      reason:
        'The database already uses the pending login and refuses the current one: setSecret succeeded and the rotation stopped before finishSecret. Clients reading AWSCURRENT are failing now; finishing the rotation (AWSCURRENT → pending version) fixes them.',
      decided: true,
    };
  }
  const unreachable = probes.some((p) => p.outcome === 'unreachable');
  return {
    steps: [],
    reason: unreachable
      ? "The database is not reachable from here, so the CLI cannot tell which login works. Run unstick from a host inside the database's network, or decide by hand with the commands below."
      : 'Neither the current nor the pending login works: the database password matches no stored version. Reset it by hand (as an admin) to the AWSCURRENT value, then remove AWSPENDING.',
    decided: false,
  };
}

/**
 * `unstick <secret> [--apply]`: for a rotation left pending, tries the stored logins,
 * prints a plan (remove AWSPENDING from a dead version, or finish a rotation whose new
 * credential already works) and carries it out only with `--apply`.
 */
export async function unstickCommand(
  ctx: CommandContext,
  options: UnstickOptions,
): Promise<number> {
  const state = await loadSecretState(ctx, options.secret);
  const { out } = ctx;
  if (!state.pending || !state.pendingLeftBehind) {
    if (ctx.json)
      out.json({
        secret: state.name,
        arn: state.arn,
        steps: [],
        reason: 'No rotation is pending.',
        decided: true,
        warnings: [],
      });
    else out.line(`${state.name}: no rotation is pending; nothing to unstick.`);
    return 0;
  }
  if (state.local?.versionId === state.pending && state.local.state === 'InProgress') {
    throw new OperatorError(
      `${state.name}: a rotation is running right now (version ${shortId(state.pending)}); wait for it before unsticking.`,
      {
        fix: rotatorCommand(ctx, ['rotate', state.name, '--wait']),
      },
    );
  }
  const currentJson = state.current
    ? parseJsonObject(await readVersionValue(ctx, state.arn, state.current))
    : undefined;
  const { kind } = classifySecret(currentJson, state.rotationLambdaArn);
  const probes = await probeVersions(ctx, state, kind, options.prober, options.connectTimeoutMs);
  const decision = decideUnstick(state, kind, probes);
  const warnings: string[] = [];
  const created = state.created.get(state.pending);
  const young = !state.local && created && ctx.now() - created.getTime() < POSSIBLY_RUNNING_MS;
  if (young) {
    warnings.push(
      `The pending version is only ${formatAge(ctx.now() - created.getTime())} old: Secrets Manager may still be running or retrying this rotation. Prefer to wait until it is at least ${formatAge(POSSIBLY_RUNNING_MS)} old before --apply.`,
    );
  }
  // A setSecret still running may change the database password after the probes; taking
  // AWSPENDING away then makes finishSecret fail and leaves AWSCURRENT dead (single user).
  const unsafeNow =
    young &&
    canTryLogins(kind) &&
    decision.steps.some((s) => s.action === 'remove-pending') &&
    probes.some((p) => p.label === AWSPENDING && p.hasValue);
  if (options.apply && unsafeNow) {
    warnings.push(
      `Not applied: removing AWSPENDING from a pending database version this young could lock clients out if its rotation is still running. Run again with --apply once it is at least ${formatAge(POSSIBLY_RUNNING_MS)} old.`,
    );
  }
  const plan: UnstickPlan = {
    secret: state.name,
    arn: state.arn,
    strategy: kind,
    probes,
    ...decision,
    warnings,
    commands: decision.steps.flatMap((s) => commandFor(ctx, state, s)),
  };
  if (options.apply && plan.decided && !unsafeNow) {
    for (const step of plan.steps) {
      if (step.action === 'promote-pending') {
        await ctx.sm.send(
          new UpdateSecretVersionStageCommand({
            SecretId: state.arn,
            VersionStage: AWSCURRENT,
            MoveToVersionId: step.versionId,
            RemoveFromVersionId: step.fromVersionId,
          }),
        );
      }
      await ctx.sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: state.arn,
          VersionStage: AWSPENDING,
          RemoveFromVersionId: step.versionId,
        }),
      );
    }
    plan.applied = true;
  }
  if (ctx.json) {
    out.json(plan);
  } else {
    const { style } = out;
    const record = state.local?.versionId === state.pending ? state.local : undefined;
    out.line(
      `${style.bold(state.name)}: AWSPENDING left on version ${shortId(state.pending)}${record?.step ? ` (failed at ${record.step})` : ''}. Strategy: ${kind}.`,
    );
    for (const p of probes) out.line(`  ${describeProbe(p)}`);
    out.line();
    out.line(plan.reason);
    for (const w of plan.warnings) out.line(style.yellow(`! ${w}`));
    if (plan.commands.length > 0) {
      out.line();
      out.line(plan.applied ? style.green('Applied:') : 'Plan:');
      for (const c of plan.commands) out.line(`  ${c}`);
      if (!plan.applied)
        out.line(
          style.dim(
            `Run again with --apply to carry it out: ${rotatorCommand(ctx, ['unstick', state.name, '--apply'])}`,
          ),
        );
      else out.line(`Next: ${rotatorCommand(ctx, ['rotate', state.name, '--wait'])}`);
    }
  }
  if (!plan.decided || (options.apply && unsafeNow)) return 1;
  return 0;
}
