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

function isPreviousRotationPending(error: unknown): boolean {
  const e = error as { name?: string; message?: string };
  return e?.name === 'InvalidRequestException' && /previous rotation/i.test(e.message ?? '');
}

function progressLine(ctx: CommandContext, step: string | undefined, finished: boolean): string {
  const { style } = ctx.out;
  const index = step ? ROTATION_STEPS.indexOf(step as (typeof ROTATION_STEPS)[number]) : -1;
  return ROTATION_STEPS.map((name, i) => {
    if (finished || i < index) return style.green(`✓ ${name}`);
    if (i === index) return style.cyan(`▸ ${name}`);
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
            'Not rotating: fix the errors above first (npx rotator doctor shows every finding).',
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
      fix: `aws secretsmanager rotate-secret --secret-id ${before.name} --rotation-lambda-arn <function-arn> --rotation-rules '{"ScheduleExpression":"rate(30 days)"}'`,
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
        out.error(`  see why: npx rotator doctor ${before.name}`);
        out.error(`  recover: npx rotator unstick ${before.name}`);
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
        `Follow it with: npx rotator status ${before.name}   (or start with --wait next time)`,
      );
    }
    return 0;
  }
  const report = await follow(ctx, before.arn, versionId, options, started);
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
    out.error(`  diagnose: npx rotator doctor ${before.name}`);
    out.error(`  recover:  npx rotator unstick ${before.name}`);
  }
  return report.outcome === 'succeeded' ? 0 : 1;
}

async function follow(
  ctx: CommandContext,
  arn: string,
  versionId: string,
  options: RotateOptions,
  started: number,
): Promise<RotateReport> {
  let lastStep: string | undefined;
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
        message: `AWSPENDING is still on version ${shortId(versionId)} after ${formatAge(elapsed)}. Secrets Manager retries failed steps by itself; the function's logs (and CloudTrail RotationFailed) name the failing step.`,
        labels,
        durationMs: elapsed,
      };
    }
    const step = record?.step;
    // On a TTY the line is redrawn every poll (the elapsed time moves); otherwise one line
    // per step, so logs of CI jobs stay short.
    if (!ctx.json && (ctx.out.tty || !announced || step !== lastStep)) {
      announced = true;
      ctx.out.status(
        step
          ? progressLine(ctx, step, false)
          : `${ctx.out.style.cyan('▸')} rotation in progress (${formatAge(elapsed)}); the API does not show which step runs`,
      );
      lastStep = step;
    }
    await ctx.sleep(options.pollMs);
  }
}
