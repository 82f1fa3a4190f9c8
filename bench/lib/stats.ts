/** Summary statistics shared by every suite. Inputs are never mutated. */

/** Min, median and max of one figure over several runs: the spread every result is reported with. */
export interface Spread {
  min: number;
  median: number;
  max: number;
  /** The per-run values, in run order (kept in the JSON for anyone re-analysing). */
  runs: number[];
}

/** The p-th percentile (0..100) by nearest rank, the definition load generators commonly use. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

export function spread(runs: readonly number[]): Spread {
  return { min: Math.min(...runs), median: median(runs), max: Math.max(...runs), runs: [...runs] };
}

/**
 * ours / baseline, run by run, summarised as a spread. Runs are paired in
 * order because suites interleave them (ours, baseline, ours, ...), so a
 * pair shares the machine's state at that moment.
 */
export function ratioSpread(ours: readonly number[], baseline: readonly number[]): Spread {
  const n = Math.min(ours.length, baseline.length);
  const ratios = Array.from({ length: n }, (_, i) => ours[i] / baseline[i]);
  return spread(ratios);
}

/** Run `fn` `times` times in sequence and collect what each run returns. */
export async function repeat<T>(times: number, fn: (run: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < times; i++) out.push(await fn(i));
  return out;
}

/** Milliseconds since `start` (a process.hrtime.bigint() reading). */
export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}
