import {
  DescribeSecretCommand,
  type Filter,
  RotateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { type BulkEvent, type BulkItem, type BulkResult, runBulk } from '../lib/bulk.js';
import type { CommandContext } from '../lib/context.js';
import { currentValues } from '../lib/fleetState.js';
import { formatAge } from '../lib/output.js';
import { isThrottling, type Timing, TokenBucket, withThrottlingRetry } from '../lib/rateLimiter.js';
import { listSecrets } from '../lib/secretFilters.js';
import { AWSPENDING, isNotFound, parseJsonObject, versionWith } from '../lib/secretState.js';
import { credentialTarget } from '../lib/strategy.js';
import { follow, isPreviousRotationPending } from './rotate.js';

/** Options of {@link rotateManyCommand}. */
export interface RotateManyOptions {
  /** Names or ARNs given on the command line (with `all` false). */
  secrets: string[];
  /** Every rotation-enabled secret matching `filters`. */
  all: boolean;
  filters: Filter[];
  concurrency: number;
  /** Rotations at once on one target (database host and port, provider host). */
  perTarget: number;
  stopOnFailure: boolean;
  wait: boolean;
  timeoutMs: number;
  pollMs: number;
  /** RotateSecret calls per second, at most (the service allows 50 with CancelRotateSecret). */
  ratePerSecond: number;
  timing?: Timing;
}

/** What `rotate --all --json` prints. */
export interface BulkSummary {
  succeeded: number;
  failed: number;
  skipped: number;
  /** RotateSecret answers of ThrottlingException that were retried. */
  throttled: number;
  results: BulkResult[];
}

interface Candidate extends BulkItem {
  arn: string;
  pending?: string;
}

async function candidates(
  ctx: CommandContext,
  options: RotateManyOptions,
): Promise<{ items: Candidate[]; skipped: BulkResult[] }> {
  const items: Candidate[] = [];
  const skipped: BulkResult[] = [];
  const described = options.all
    ? (await listSecrets(ctx.sm, options.filters)).filter((s) => s.RotationEnabled === true)
    : await Promise.all(
        options.secrets.map((id) =>
          ctx.sm.send(new DescribeSecretCommand({ SecretId: id })).catch((error: unknown) => {
            if (isNotFound(error)) return { Name: id, ARN: undefined, missing: true };
            throw error;
          }),
        ),
      );
  const values = await currentValues(
    ctx,
    described.flatMap((s) => (s.ARN && s.RotationLambdaARN ? [s.ARN] : [])),
  );
  for (const secret of described) {
    const name = secret.Name ?? secret.ARN ?? '?';
    if ('missing' in secret || !secret.ARN) {
      skipped.push({ name, target: '-', outcome: 'skipped', message: 'no such secret' });
      continue;
    }
    if (!secret.RotationLambdaARN) {
      skipped.push({ name, target: '-', outcome: 'skipped', message: 'no rotation function' });
      continue;
    }
    const pending =
      'VersionIdsToStages' in secret && secret.VersionIdsToStages
        ? versionWith(secret.VersionIdsToStages as Record<string, string[]>, AWSPENDING)
        : undefined;
    items.push({
      name,
      arn: secret.ARN,
      // A secret whose kind names no target is its own target.
      target:
        credentialTarget(parseJsonObject(values.get(secret.ARN)), secret.RotationLambdaARN)
          .target ?? `secret ${name}`,
      ...(pending ? { pending } : {}),
    });
  }
  return { items, skipped };
}

function progressBar(done: number, total: number, width = 24): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/**
 * `rotator rotate --all [filters]` or `rotator rotate <secret> <secret>...`: rotates many
 * secrets under a concurrency limit and a per-target cap, pacing RotateSecret below the
 * service's quota and retrying it on throttling; a progress bar on a TTY, one line per
 * change in a pipe; a summary at the end. Exit 1 when any rotation failed.
 */
export async function rotateManyCommand(
  ctx: CommandContext,
  options: RotateManyOptions,
): Promise<number> {
  const { out } = ctx;
  const { items, skipped } = await candidates(ctx, options);
  const total = items.length + skipped.length;
  const bucket = new TokenBucket(options.ratePerSecond, options.ratePerSecond, options.timing);
  let throttled = 0;
  const counts = { succeeded: 0, failed: 0, skipped: skipped.length, running: 0 };
  const draw = () => {
    const done = counts.succeeded + counts.failed + counts.skipped;
    out.status(
      `${progressBar(done, total)} ${done}/${total}  ${out.style.green(`✓ ${counts.succeeded}`)}  ${out.style.red(`✗ ${counts.failed}`)}  skipped ${counts.skipped}  running ${counts.running}${throttled ? `  throttled ${throttled}` : ''}`,
    );
  };
  const onEvent = (event: BulkEvent) => {
    if (event.type === 'started') counts.running++;
    else {
      counts.running--;
      counts[event.result.outcome]++;
    }
    if (ctx.json) return;
    if (out.tty) {
      if (event.type === 'ended' && event.result.outcome === 'failed') {
        out.line(`${out.style.red('✗')} ${event.result.name}: ${event.result.message ?? ''}`);
      }
      draw();
      return;
    }
    if (event.type === 'started') out.line(`started   ${event.item.name} (${event.item.target})`);
    else out.line(resultLine(ctx, event.result));
  };
  if (!ctx.json && !options.wait) {
    out.line(
      out.style.dim(
        'Without --wait, rotations are only started: the per-target cap limits the starts, not the rotations.',
      ),
    );
  }
  const results = await runBulk(items, {
    concurrency: options.concurrency,
    perTarget: options.perTarget,
    stopOnFailure: options.stopOnFailure,
    onEvent,
    rotate: async (item) => {
      const candidate = item as Candidate;
      const started = ctx.now();
      let versionId: string;
      try {
        const response = await withThrottlingRetry(
          bucket,
          () =>
            ctx.sm.send(
              new RotateSecretCommand({ SecretId: candidate.arn, RotateImmediately: true }),
            ),
          {
            ...(options.timing ? { timing: options.timing } : {}),
            onThrottled: () => {
              throttled++;
            },
          },
        );
        versionId = response.VersionId ?? '';
      } catch (error) {
        if (!isPreviousRotationPending(error) || !candidate.pending) {
          const e = error as Error;
          return {
            name: item.name,
            target: item.target,
            outcome: 'failed',
            message: isThrottling(error)
              ? 'RotateSecret still throttled after retries'
              : `${e?.name ?? 'Error'}: ${e?.message ?? String(error)}`,
          };
        }
        versionId = candidate.pending;
      }
      if (!options.wait) {
        return { name: item.name, target: item.target, outcome: 'succeeded', message: 'started' };
      }
      const report = await follow(ctx, candidate, versionId, options, started, true);
      return {
        name: item.name,
        target: item.target,
        outcome: report.outcome === 'succeeded' ? 'succeeded' : 'failed',
        ...(report.step ? { step: report.step } : {}),
        ...(report.outcome !== 'succeeded' && report.message ? { message: report.message } : {}),
        durationMs: report.durationMs,
      };
    },
  });
  const all = [...results, ...skipped];
  const summary: BulkSummary = {
    succeeded: all.filter((r) => r.outcome === 'succeeded').length,
    failed: all.filter((r) => r.outcome === 'failed').length,
    skipped: all.filter((r) => r.outcome === 'skipped').length,
    throttled,
    results: all,
  };
  if (ctx.json) out.json(summary);
  else renderSummary(ctx, summary, options.wait);
  return summary.failed > 0 ? 1 : 0;
}

function resultLine(ctx: CommandContext, result: BulkResult): string {
  const { style } = ctx.out;
  if (result.outcome === 'succeeded') {
    return `${style.green('✓')} ${result.name}${result.durationMs !== undefined ? ` (${formatAge(result.durationMs)})` : ''}`;
  }
  if (result.outcome === 'failed') {
    return `${style.red('✗')} ${result.name}${result.step ? ` at ${result.step}` : ''}: ${result.message ?? ''}`;
  }
  return `- ${result.name} skipped: ${result.message ?? ''}`;
}

function renderSummary(ctx: CommandContext, summary: BulkSummary, waited: boolean): void {
  const { out } = ctx;
  out.line(
    `${waited ? 'Rotated' : 'Started'} ${summary.succeeded}, failed ${summary.failed}, skipped ${summary.skipped}${summary.throttled ? ` (RotateSecret throttled ${summary.throttled} times, retried)` : ''}.`,
  );
  for (const result of summary.results) {
    if (result.outcome === 'failed') out.line(`  ${resultLine(ctx, result)}`);
  }
  for (const result of summary.results) {
    if (result.outcome === 'skipped') out.line(`  ${resultLine(ctx, result)}`);
  }
}
