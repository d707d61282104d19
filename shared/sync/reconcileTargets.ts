import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { RotationError, RotationStateError } from '../errors.js';
import { AWSCURRENT, SecretsGateway } from '../secrets/SecretsGateway.js';
import type { TargetState, TargetWriter } from './TargetWriter.js';
import { describeTarget, parseSyncTargets, targetValue } from './targets.js';

/** One target as `rotator reconcile` found it (and left it, with `apply`). */
export interface TargetReport {
  tag: string;
  /** Where it is (`ssm:/acme/db`, `s3://bucket/key#/pointer (json)`); never a value. */
  target: string;
  /** `in-step` holds AWSCURRENT; `stale` another value; `missing` none; `error` unreadable. */
  found: TargetState | 'error';
  /** True when `apply` wrote AWSCURRENT to it. */
  repaired: boolean;
  /** Why it could not be read or written (names the operation, never a value). */
  error?: string;
}

/** What {@link reconcileTargets} found. */
export interface TargetReconcileReport {
  secretId: string;
  targets: TargetReport[];
  /** Every target holds AWSCURRENT (after repair, with `apply`). */
  healthy: boolean;
}

/** Options of {@link reconcileTargets}. */
export interface ReconcileTargetsOptions {
  secretId: string;
  client: SecretsManagerClient;
  writer: () => Promise<TargetWriter>;
  /** Write AWSCURRENT to every target that does not hold it. */
  apply: boolean;
  /** Receives the AWSCURRENT value so the caller can scrub it from anything printed. */
  registerSecret?: (value: string) => void;
  signal?: AbortSignal;
}

/**
 * Compares every sync target a secret declares with its AWSCURRENT value, and with `apply`
 * repairs the ones that differ (the same idempotent, field-only writes finishSecret makes).
 * A secret without sync tags costs one DescribeSecret and reports no targets.
 */
export async function reconcileTargets(
  options: ReconcileTargetsOptions,
): Promise<TargetReconcileReport> {
  const gateway = new SecretsGateway({
    client: options.client,
    cache: null,
    onSecretValue: (value) => options.registerSecret?.(value.text),
  });
  const description = await gateway.describe(options.secretId, options.signal);
  const targets = parseSyncTargets(description.tags);
  if (targets.length === 0) return { secretId: options.secretId, targets: [], healthy: true };
  const current = await gateway.getValueByStage(description.arn, AWSCURRENT, options.signal);
  if (current === undefined) {
    throw new RotationStateError(`Secret ${options.secretId} has no AWSCURRENT value`);
  }
  const writer = await options.writer();
  const reports: TargetReport[] = [];
  for (const target of targets) {
    const report: TargetReport = {
      tag: target.tag,
      target: describeTarget(target),
      found: 'error',
      repaired: false,
    };
    try {
      const value = targetValue(target, current);
      report.found = options.apply
        ? await writer.write(target, value, options.signal)
        : await writer.check(target, value, options.signal);
      report.repaired = options.apply && report.found !== 'in-step';
    } catch (error) {
      report.error =
        error instanceof RotationError
          ? error.message
          : ((error as { name?: string })?.name ?? 'error');
    }
    reports.push(report);
  }
  const healthy = reports.every((r) => r.found === 'in-step' || r.repaired);
  return { secretId: options.secretId, targets: reports, healthy };
}
