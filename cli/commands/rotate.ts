import { RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { ROTATION_STEPS } from '../../shared/engine/types.js';
import type { CommandContext } from '../lib/context.js';
import { OperatorError } from '../lib/errors.js';
import { formatAge, shortId } from '../lib/output.js';
import type { Prober } from '../lib/probe.js';
import {
  AWSCURRENT,
  AWSPENDING,
  functionName,
  loadSecretState,
  type SecretState,
} from '../lib/secretState.js';
import { awsCommand, rotatorCommand } from '../lib/suggest.js';
import { diagnose, renderFindings } from './doctor.js';

/** Options of {@link rotateCommand}. */
export interface RotateOptions {
  secret: string;
  wait: boolean;
  /** Give up waiting after this long (ms). */
  timeoutMs: number;
  /** DescribeSecret polling interval (ms). */
  pollMs: number;
  /** Run doctor's checks first and do not rotate when one finds an error. */
  check?: { prober: Prober; connectTimeoutMs: number };
}

/** What `rotate --json` prints. */
export interface RotateReport {
  secret: string;
  versionId: string;
  outcome: 'started' | 'succeeded' | 'failed' | 'timed-out' | 'not-started';
  /** The step that failed or was running, when known (the local twin records it). */
  step?: string;
  message?: string;
  /** Label of the new version at the end. */
  labels?: string[];
  durationMs: number;
  /** True when RotateSecret re-attempted a rotation left pending instead of starting one. */
  resumed?: boolean;
}

/** RotateSecret's refusal while an earlier rotation is pending (it re-attempts that one). */
export function isPreviousRotationPending(error: unknown): boolean {
  const e = error as { name?: string; message?: string };
  return e?.name === 'InvalidRequestException' && /previous rotation/i.test(e.message ?? '');
}

/** The four steps, done ones ticked; `runningMs` is how long the running step has run. */
function progressLine(
  ctx: CommandContext,
  step: string | undefined,
  finished: boolean,
  runningMs?: number,
): string {
  const { style } = ctx.out;
  const index = step ? ROTATION_STEPS.indexOf(step as (typeof ROTATION_STEPS)[number]) : -1;
  return ROTATION_STEPS.map((name, i) => {
    if (finished || i < index) return style.green(`✓ ${name}`);
    if (i === index)
      return style.cyan(`▸ ${name}${runningMs === undefined ? '' : ` ${formatAge(runningMs)}`}`);
    return style.dim(`· ${name}`);
  }).join('  ');
}

/**
 * `rotate <secret> [--wait]`: starts a rotation now (RotateSecret, RotateImmediately) and,
 * with `--wait`, follows it until the new version is AWSCURRENT (exit 0) or the rotation
 * fails (exit 1). Against the local twin the failed step and message come from its
 * rotation record; against AWS a failure shows as AWSPENDING still on the version when the
 * timeout runs out (Secrets Manager retries failed rotations on its own, so "not done yet"
 * and "failed" look the same through the API).
 */
export async function rotateCommand(ctx: CommandContext, options: RotateOptions): Promise<number> {
  const { out } = ctx;
  const started = ctx.now();
  if (options.check) {
    const report = await diagnose(ctx, { secret: options.secret, ...options.check });
    const errors = report.findings.filter((f) => f.severity === 'error');
    if (errors.length > 0) {
      if (ctx.json) out.json({ secret: report.secret, outcome: 'not-started', findings: errors });
      else {
        renderFindings(ctx, report, ['error']);
        out.error(
          out.style.red(
            `Not rotating: fix the errors above first (${rotatorCommand(ctx, ['doctor', options.secret])} shows every finding).`,
          ),
        );
      }
      return 1;
    }
    if (!ctx.json)
      out.line(out.style.dim(`Pre-flight checks passed (${report.findings.length} checked).`));
  }
  const before = await loadSecretState(ctx, options.secret);
  if (!before.rotationLambdaArn) {
    throw new OperatorError(`${before.name} has no rotation function, so it cannot rotate.`, {
      fix: awsCommand(
        ctx,
        'secretsmanager',
        'rotate-secret',
        '--secret-id',
        before.name,
        '--rotation-lambda-arn',
        '<function-arn>',
        '--rotation-rules',
        '{"ScheduleExpression":"rate(30 days)"}',
      ),
    });
  }
  let versionId: string;
  let resumed = false;
  try {
    const response = await ctx.sm.send(
      new RotateSecretCommand({ SecretId: before.arn, RotateImmediately: true }),
    );
    versionId = response.VersionId ?? '';
  } catch (error) {
    if (!isPreviousRotationPending(error) || !before.pending) throw error;
    // Secrets Manager re-attempts the pending rotation when asked again; follow that one.
    versionId = before.pending;
    resumed = true;
    if (!options.wait) {
      const report: RotateReport = {
        secret: before.name,
        versionId,
        outcome: 'failed',
        message: "A previous rotation isn't complete; Secrets Manager re-attempts it.",
        durationMs: ctx.now() - started,
        resumed,
      };
      if (ctx.json) out.json(report);
      else {
        out.error(
          `${before.name}: a previous rotation (version ${shortId(versionId)}) is still pending; Secrets Manager re-attempts it.`,
        );
        out.error(`  see why: ${rotatorCommand(ctx, ['doctor', before.name])}`);
        out.error(`  recover: ${rotatorCommand(ctx, ['unstick', before.name])}`);
      }
      return 1;
    }
  }
  if (!ctx.json) {
    out.line(
      `${resumed ? 'Re-attempting the pending rotation' : 'Rotation started'} for ${out.style.bold(before.name)} → version ${shortId(versionId)} (rotator ${functionName(before.rotationLambdaArn)})`,
    );
  }
  if (!options.wait) {
    if (ctx.json) {
      out.json({
        secret: before.name,
        versionId,
        outcome: 'started',
        durationMs: ctx.now() - started,
      } satisfies RotateReport);
    } else {
      out.line(
        `Follow it with: ${rotatorCommand(ctx, ['status', before.name])}   (or start with --wait next time)`,
      );
    }
    return 0;
  }
  const report = await follow(ctx, before, versionId, options, started);
  report.secret = before.name;
  if (resumed) report.resumed = true;
  if (ctx.json) out.json(report);
  else if (report.outcome === 'succeeded') {
    out.line(progressLine(ctx, undefined, true));
    out.line(
      out.style.green(
        `Rotated: version ${shortId(versionId)} is AWSCURRENT (${formatAge(report.durationMs)}).`,
      ),
    );
  } else {
    out.line(progressLine(ctx, report.step, false));
    const what = report.outcome === 'timed-out' ? 'Still not finished' : 'Rotation failed';
    out.error(
      out.style.red(
        `${what}${report.step ? ` at ${report.step}` : ''}: ${report.message ?? ''}`.trimEnd(),
      ),
    );
    out.error(`  diagnose: ${rotatorCommand(ctx, ['doctor', before.name])}`);
    // A step is named only by the twin's record; still running there, unstick would refuse.
    out.error(
      report.outcome === 'timed-out' && ctx.local && report.step !== undefined
        ? `  follow:   ${rotatorCommand(ctx, ['status', before.name])}`
        : `  recover:  ${rotatorCommand(ctx, ['unstick', before.name])}`,
    );
  }
  return report.outcome === 'succeeded' ? 0 : 1;
}

/**
 * What a timeout means depends on who runs the rotation: AWS retries failed steps by itself
 * and shows no step; the twin shows the step, never retries one, and fails it only at the
 * function timeout; another local endpoint shows neither.
 */
function timeoutMessage(
  ctx: CommandContext,
  name: string,
  versionId: string,
  elapsedMs: number,
  step: string | undefined,
): string {
  const still = `AWSPENDING is still on version ${shortId(versionId)} after ${formatAge(elapsedMs)}.`;
  if (ctx.local && step !== undefined) {
    return `${still} The local twin is still running ${step}: it does not retry a step by itself, so the step has not returned yet (the twin fails it at the function timeout). Follow it with ${rotatorCommand(ctx, ['status', name])}; once it has failed, ${rotatorCommand(ctx, ['rotate', name, '--wait'])} runs it again. The function's output is in the npm start terminal.`;
  }
  if (ctx.local) {
    return `${still} This endpoint is not AWS and does not report steps: whether it retries is up to it; the function's own output names the failing step.`;
  }
  return `${still} Secrets Manager retries failed steps by itself; the function's logs (and CloudTrail RotationFailed) name the failing step.`;
}

/**
 * Polls a started rotation until its version is AWSCURRENT, it failed (the twin's record) or
 * lost AWSPENDING, or `options.timeoutMs` passed. `quiet` (bulk rotation) prints nothing.
 */
export async function follow(
  ctx: CommandContext,
  secret: Pick<SecretState, 'arn' | 'name'>,
  versionId: string,
  options: Pick<RotateOptions, 'timeoutMs' | 'pollMs'>,
  started: number,
  quiet = false,
): Promise<RotateReport> {
  const { arn } = secret;
  let lastStep: string | undefined;
  /** When this command first saw the running step (the twin records no step start). */
  let stepSeen = started;
  let announced = false;
  let state: SecretState | undefined;
  for (;;) {
    state = await loadSecretState(ctx, arn);
    const labels = state.stages[versionId] ?? [];
    const record = state.local?.versionId === versionId ? state.local : undefined;
    const elapsed = ctx.now() - started;
    if (labels.includes(AWSCURRENT)) {
      return { secret: arn, versionId, outcome: 'succeeded', labels, durationMs: elapsed };
    }
    if (record && ['Failed', 'Cancelled', 'Abandoned', 'Interrupted'].includes(record.state)) {
      return {
        secret: arn,
        versionId,
        outcome: 'failed',
        ...(record.step ? { step: record.step } : {}),
        message: record.message ?? record.state,
        labels,
        durationMs: elapsed,
      };
    }
    if (!labels.includes(AWSPENDING) && !record) {
      // The version lost AWSPENDING without becoming current: abandoned or cancelled.
      return {
        secret: arn,
        versionId,
        outcome: 'failed',
        message:
          'the new version lost AWSPENDING without becoming AWSCURRENT (rotation abandoned or cancelled)',
        labels,
        durationMs: elapsed,
      };
    }
    if (elapsed >= options.timeoutMs) {
      return {
        secret: arn,
        versionId,
        outcome: 'timed-out',
        ...(record?.step ? { step: record.step } : {}),
        message: timeoutMessage(ctx, secret.name, versionId, elapsed, record?.step),
        labels,
        durationMs: elapsed,
      };
    }
    const step = record?.step;
    const changed = step !== lastStep;
    if (changed) stepSeen = ctx.now();
    lastStep = step;
    // On a TTY the line is redrawn every poll (the elapsed times move); otherwise one line
    // per step, so logs of CI jobs stay short.
    if (!quiet && !ctx.json && (ctx.out.tty || !announced || changed)) {
      announced = true;
      ctx.out.status(
        step
          ? progressLine(ctx, step, false, ctx.out.tty ? ctx.now() - stepSeen : undefined)
          : `${ctx.out.style.cyan('▸')} rotation in progress (${formatAge(elapsed)}); the API does not show which step runs`,
      );
    }
    await ctx.sleep(options.pollMs);
  }
}
