import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { StepOutcome } from './protocol.js';

/** Namespace when `POWERTOOLS_METRICS_NAMESPACE` is unset (the template sets it). */
export const DEFAULT_METRICS_NAMESPACE = 'Rotator';

/** The metric names a step emits; documented in docs/deploy.md for alarms and dashboards. */
export const STEP_METRICS = {
  duration: 'StepDuration',
  success: 'StepSuccess',
  failure: 'StepFailure',
  pendingExisted: 'PendingExisted',
  concurrentCreate: 'ConcurrentCreate',
  promotionHookRerun: 'PromotionHookRerun',
  frozen: 'RotationFrozen',
} as const;

/** The state a retry found already done and repaired, counted apart from plain success. */
const REPAIRED: Partial<Record<StepOutcome, string>> = {
  'pending-existed': STEP_METRICS.pendingExisted,
  'concurrent-create-won': STEP_METRICS.concurrentCreate,
  'promotion-hook-rerun': STEP_METRICS.promotionHookRerun,
};

/** One finished step, as {@link StepMetrics.record} takes it. */
export interface StepRecord {
  /** The strategy's name (a dimension). */
  strategy: string;
  /** The protocol step (a dimension). */
  step: string;
  /** The event's SecretId (Secrets Manager sends the ARN): metadata, never a dimension. */
  secretId: string;
  durationMs: number;
  /** Present when the step succeeded. */
  outcome?: StepOutcome;
  /** Present when the step failed; only its `name` is read. */
  error?: unknown;
}

/**
 * CloudWatch embedded-metric-format lines for every rotation step: one JSON line on stdout per
 * step, which Lambda's log pipeline turns into metrics with no API call. Dimensions are the
 * strategy and the step (plus Powertools' `service`), never the secret, so a fleet of
 * thousands of secrets stays a handful of metric streams; the secret id travels as metadata,
 * searchable in Logs Insights. A failed step whose error is named `RotationFrozenError`
 * also counts `RotationFrozen`, so an alarm on `StepFailure` can subtract the refusals a
 * freeze window caused.
 */
export class StepMetrics {
  readonly #metrics: Metrics;

  constructor(env: NodeJS.ProcessEnv, serviceName: string) {
    this.#metrics = new Metrics({
      namespace: env.POWERTOOLS_METRICS_NAMESPACE || DEFAULT_METRICS_NAMESPACE,
      serviceName: env.POWERTOOLS_SERVICE_NAME || serviceName,
    });
  }

  /** Emits one EMF line for a finished step. Never throws: metrics must not fail a rotation. */
  record(step: StepRecord): void {
    try {
      const m = this.#metrics;
      m.addDimensions({ strategy: step.strategy, step: step.step });
      m.addMetadata('secretArn', step.secretId);
      m.addMetric(STEP_METRICS.duration, MetricUnit.Milliseconds, step.durationMs);
      const failed = step.error !== undefined;
      m.addMetric(STEP_METRICS.success, MetricUnit.Count, failed ? 0 : 1);
      m.addMetric(STEP_METRICS.failure, MetricUnit.Count, failed ? 1 : 0);
      const repaired = step.outcome && REPAIRED[step.outcome];
      if (repaired) m.addMetric(repaired, MetricUnit.Count, 1);
      if (failed && (step.error as { name?: unknown })?.name === 'RotationFrozenError') {
        m.addMetric(STEP_METRICS.frozen, MetricUnit.Count, 1);
      }
      m.publishStoredMetrics();
    } catch {
      // A metric that cannot be written is not worth a failed rotation.
    }
  }
}
