import type { BenchContext } from './context';
import { ratioSpread, spread, type Spread } from './stats';

/**
 * What a benchmark suite is. Suites live one per file in bench/suites/ and
 * default-export `defineSuite({...})`; bench/run.ts discovers every compiled
 * file there (dist/bench/suites/*.js), so adding a suite needs no edit
 * anywhere else. See bench/README.md.
 */
export interface BenchSuite {
  /** Short id, used by `npm run bench -- --only <name>` and as the JSON key. */
  name: string;
  title: string;
  /** Suites run in ascending order (then by name); the built-in ones use 10, 20, ... */
  order?: number;
  run(ctx: BenchContext): Promise<SuiteResult>;
}

export function defineSuite(suite: BenchSuite): BenchSuite {
  return suite;
}

export interface SuiteResult {
  rows: ResultRow[];
  /** Free-form lines printed under the suite's table (what was measured, how many instances...). */
  notes?: string[];
}

/**
 * A target from the issue: a bound on the ratio to the baseline (the
 * default) or on the value itself, checked against the median.
 */
export interface Target {
  op: '<=' | '>=';
  bound: number;
  on?: 'ratio' | 'value';
}

export interface ResultRow {
  metric: string;
  /** ms, req/s, MiB, /s, ms/1k req, ... */
  unit: string;
  /** Ours over the runs; undefined marks a slot not measured yet (see `note`). */
  value?: Spread;
  baseline?: { label: string; value: Spread; unit?: string };
  /** Ours / baseline, per paired run. */
  ratio?: Spread;
  target?: Target;
  /** Whether the median meets the target (undefined without a target or a value). */
  met?: boolean;
  note?: string;
}

/** A row with ours, the baseline and their ratio, its target checked. */
export function compared(metric: string, unit: string, ours: number[], baseline: { label: string; runs: number[]; unit?: string }, target?: Target, note?: string): ResultRow {
  const row: ResultRow = {
    metric,
    unit,
    value: spread(ours),
    baseline: { label: baseline.label, value: spread(baseline.runs), unit: baseline.unit },
    ratio: ratioSpread(ours, baseline.runs),
    target,
    note,
  };
  return checked(row);
}

/** A row without a baseline (a count, a size), its target (on the value) checked. */
export function measured(metric: string, unit: string, ours: number[], target?: Target, note?: string): ResultRow {
  return checked({ metric, unit, value: spread(ours), target, note });
}

/** A clearly marked slot for a figure another issue will provide. */
export function pending(metric: string, unit: string, note: string, target?: Target, baseline?: ResultRow['baseline']): ResultRow {
  return { metric, unit, target, baseline, note };
}

function checked(row: ResultRow): ResultRow {
  const t = row.target;
  if (!t || !row.value) return row;
  const x = (t.on ?? 'ratio') === 'ratio' ? row.ratio?.median : row.value.median;
  if (x === undefined || Number.isNaN(x)) return row;
  row.met = t.op === '<=' ? x <= t.bound : x >= t.bound;
  return row;
}

export function describeTarget(t: Target): string {
  return (t.on ?? 'ratio') === 'ratio' ? `${t.op} ${t.bound}x` : `${t.op} ${t.bound}`;
}
