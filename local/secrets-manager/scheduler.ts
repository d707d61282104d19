import { type Clock, isManualClock } from './clock.js';
import type { RotationRunner } from './rotation.js';
import type { SecretsStore } from './store.js';

/** Options of {@link RotationScheduler}. */
export interface SchedulerOptions {
  store: SecretsStore;
  runner: RotationRunner;
  clock: Clock;
  persist: () => Promise<void>;
  /** Polling interval for the wall clock (ms); a ManualClock notifies instead. */
  intervalMs?: number;
}

/**
 * Starts rotations whose NextRotationDate has come and purges secrets whose recovery window
 * ended. With a {@link ManualClock} it runs on every `advance`; otherwise it polls.
 */
export class RotationScheduler {
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: SchedulerOptions) {}

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

  /** Stops watching the clock. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
  }

  /** Starts every due rotation and purges expired deletions; returns the rotations started. */
  tick(): number {
    const { store, runner, persist } = this.options;
    let changed = store.purgeExpired() > 0;
    let started = 0;
    for (const arn of store.dueForRotation()) {
      const job = store.startScheduledRotation(arn);
      if (!job) continue;
      changed = true;
      started++;
      // The AWSPENDING placeholder is durable before the function is first invoked.
      runner.start(job, persist());
    }
    if (changed && started === 0) void persist().catch(() => undefined);
    return started;
  }
}
