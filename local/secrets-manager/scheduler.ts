import { type Clock, isManualClock } from './clock.js';
import type { RotationRunner } from './rotation.js';
import type { SecretsStore } from './store.js';

/** Scheduled rotations that run at once unless {@link SchedulerOptions.concurrency} says. */
export const DEFAULT_SCHEDULER_CONCURRENCY = 8;

/** Options of {@link RotationScheduler}. */
export interface SchedulerOptions {
  store: SecretsStore;
  runner: RotationRunner;
  clock: Clock;
  persist: () => Promise<void>;
  /** Polling interval for the wall clock (ms); a ManualClock notifies instead. */
  intervalMs?: number;
  /**
   * Scheduled rotations running at once, at most (default 8). Due rotations beyond it stay
   * due, untouched, and start as running ones end.
   */
  concurrency?: number;
}

/**
 * Starts rotations whose NextRotationDate has come, at most `concurrency` at a time, and
 * purges secrets whose recovery window ended. With a {@link ManualClock} it runs on every
 * `advance`; otherwise it polls. A rotation that ends frees its slot for the next due one at
 * once, without waiting for the next tick.
 */
export class RotationScheduler {
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;
  /** ARNs of the scheduled rotations running now. */
  private readonly active = new Set<string>();
  private idle: (() => void)[] = [];
  private readonly concurrency: number;

  constructor(private readonly options: SchedulerOptions) {
    const concurrency = options.concurrency ?? DEFAULT_SCHEDULER_CONCURRENCY;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(
        `Scheduler concurrency must be a positive integer (got ${concurrency}).`,
      );
    }
    this.concurrency = concurrency;
  }

  /** Begins watching the clock. */
  start(): void {
    const { clock } = this.options;
    if (isManualClock(clock)) {
      this.unsubscribe = clock.onAdvance(() => this.tick());
    } else {
      this.timer = setInterval(() => this.tick(), this.options.intervalMs ?? 1000);
      this.timer.unref();
    }
  }

  /** Stops watching the clock and starting rotations. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
  }

  /** Scheduled rotations running now. */
  get running(): number {
    return this.active.size;
  }

  /**
   * Starts due rotations up to the concurrency limit and purges expired deletions; returns
   * the rotations started.
   */
  tick(): number {
    const purged = this.options.store.purgeExpired() > 0;
    const started = this.fill();
    if (purged && started === 0) void this.options.persist().catch(() => undefined);
    return started;
  }

  /** Resolves when no scheduled rotation runs and none that is due could start. */
  settled(): Promise<void> {
    if (this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private fill(): number {
    const { store, runner, persist } = this.options;
    if (this.stopped || this.active.size >= this.concurrency) return 0;
    let started = 0;
    for (const arn of store.dueForRotation()) {
      if (this.active.size >= this.concurrency) break;
      const job = store.startScheduledRotation(arn);
      if (!job) continue;
      started++;
      this.active.add(arn);
      // The AWSPENDING placeholder is durable before the function is first invoked.
      runner.start(job, persist());
      void runner.waitFor(arn).finally(() => this.ended(arn));
    }
    return started;
  }

  private ended(arn: string): void {
    this.active.delete(arn);
    this.fill();
    if (this.active.size > 0) return;
    const waiting = this.idle;
    this.idle = [];
    for (const resolve of waiting) resolve();
  }
}
