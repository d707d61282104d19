/**
 * Runs many rotations with two limits: at most `concurrency` at once, and at most
 * `perTarget` at once on one target (a database host and port, an API-key provider host),
 * so a fleet rotation never piles logins and password changes onto one server. Items keep
 * their order where the limits allow. With `stopOnFailure`, nothing new starts after the
 * first failure; running ones finish and the rest are reported as skipped.
 */

/** One rotation to run. */
export interface BulkItem {
  /** The secret's name (as printed). */
  name: string;
  /** Where its credential is used, e.g. `postgres 10.0.0.5:5432`; the name itself if unknown. */
  target: string;
}

/** How one item ended. */
export interface BulkResult {
  name: string;
  target: string;
  outcome: 'succeeded' | 'failed' | 'skipped';
  /** The step that failed, when known. */
  step?: string;
  /** Why it failed or was skipped (never a secret value: callers pass scrubbed text). */
  message?: string;
  durationMs?: number;
}

/** A change worth printing: an item started or ended. */
export type BulkEvent =
  | { type: 'started'; item: BulkItem; running: number }
  | { type: 'ended'; result: BulkResult };

/** Options of {@link runBulk}. */
export interface BulkOptions {
  concurrency: number;
  perTarget: number;
  stopOnFailure: boolean;
  /** Rotates one item; must resolve (a rejection is recorded as a failure). */
  rotate(item: BulkItem): Promise<BulkResult>;
  onEvent?(event: BulkEvent): void;
}

/** Runs every item under the limits; resolves with one result per item, in input order. */
export function runBulk(items: readonly BulkItem[], options: BulkOptions): Promise<BulkResult[]> {
  if (!(options.concurrency >= 1 && options.perTarget >= 1)) {
    return Promise.reject(
      new RangeError('runBulk: concurrency and perTarget must be at least 1 (nothing could start)'),
    );
  }
  const results = new Map<BulkItem, BulkResult>();
  const waiting = [...items];
  const onTarget = new Map<string, number>();
  let running = 0;
  let stopped = false;
  // Printing progress is a side show: a printer that throws (a closed pipe) must not strand
  // the run with rotations counted as running forever.
  const emit = (event: BulkEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // Ignored on purpose; the summary still reports every item.
    }
  };
  return new Promise((resolve) => {
    const finish = () => resolve(items.map((item) => results.get(item) as BulkResult));
    const pump = () => {
      if (stopped) {
        for (const item of waiting.splice(0)) {
          const result: BulkResult = {
            name: item.name,
            target: item.target,
            outcome: 'skipped',
            message: 'not started: --stop-on-failure after an earlier failure',
          };
          results.set(item, result);
          emit({ type: 'ended', result });
        }
      }
      for (let i = 0; i < waiting.length && running < options.concurrency; ) {
        const item = waiting[i] as BulkItem;
        if ((onTarget.get(item.target) ?? 0) >= options.perTarget) {
          i++;
          continue;
        }
        waiting.splice(i, 1);
        running++;
        onTarget.set(item.target, (onTarget.get(item.target) ?? 0) + 1);
        emit({ type: 'started', item, running });
        // Through a promise, so a rotate that throws synchronously is this item's failure.
        void Promise.resolve()
          .then(() => options.rotate(item))
          .catch(
            (error: unknown): BulkResult => ({
              name: item.name,
              target: item.target,
              outcome: 'failed',
              message: `${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`,
            }),
          )
          .then((result) => {
            running--;
            onTarget.set(item.target, (onTarget.get(item.target) ?? 1) - 1);
            results.set(item, result);
            if (result.outcome === 'failed' && options.stopOnFailure) stopped = true;
            emit({ type: 'ended', result });
            pump();
          });
      }
      if (running === 0 && waiting.length === 0) finish();
    };
    pump();
  });
}
