/** Shared by the bench modules: how a figure is recorded and how repetitions are summarised. */

/** Records one figure of the report (`bench/run.ts` owns the list). */
export type Record = (name: string, value: number, unit: string, note?: string) => void;

/** Minimum, median and maximum of `samples`, rounded to 0.1. */
export function summary(samples: readonly number[]): { min: number; median: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (n: number | undefined) => Math.round((n ?? Number.NaN) * 10) / 10;
  const mid = sorted.length / 2;
  const median =
    sorted.length % 2 === 1
      ? sorted[Math.floor(mid)]
      : ((sorted[mid - 1] ?? Number.NaN) + (sorted[mid] ?? Number.NaN)) / 2;
  return { min: round(sorted[0]), median: round(median), max: round(sorted[sorted.length - 1]) };
}
