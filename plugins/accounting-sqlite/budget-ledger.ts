import { budgetCovers, budgetName, exhausted, periodMs, runCost, windowAt, zeroAmounts, type Amounts, type BudgetRefusal, type BudgetSpec, type BudgetSubject, type UsageRecord } from '../../core';

interface Window {
  spec: BudgetSpec;
  period: number;
  start: number;
  end: number;
  used: Amounts;
}

/** What GET /usage says about a budget. */
export interface BudgetState {
  budget: string;
  period: string;
  window_start: string;
  resets_at: string;
  used: Amounts;
  limits: Partial<Amounts>;
}

/**
 * This worker's budgets, counted in memory so that admitting a run costs a
 * few comparisons and no I/O. An invocation is counted when it is admitted
 * (so concurrent requests cannot all slip under the limit); its CPU and
 * GB-seconds when its record arrives. A new window starts from what the
 * database holds for it, so the counts survive a restart.
 */
export class BudgetLedger {
  private readonly windows: Window[];
  /** The windows covering each (owner, function) seen, so admit() does not scan every budget. */
  private readonly covering = new Map<string, Window[]>();

  constructor(
    specs: BudgetSpec[],
    private readonly load: (spec: BudgetSpec, start: number, end: number) => Amounts,
  ) {
    this.windows = specs.map((spec) => ({ spec, period: periodMs(spec.period), start: 0, end: 0, used: zeroAmounts() }));
  }

  admit(subject: BudgetSubject, now = Date.now()): BudgetRefusal | undefined {
    const covering = this.coveringOf(subject);
    for (const w of covering) {
      this.roll(w, now);
      const refusal = exhausted(w.spec, w.used, w.end);
      if (refusal) return refusal;
    }
    for (const w of covering) w.used.invocations += 1;
    return undefined;
  }

  charge(u: UsageRecord): void {
    const cost = runCost(u);
    for (const w of this.windows) {
      if (!budgetCovers(w.spec, u) || u.at < w.start || u.at >= w.end) continue;
      w.used.cpu_seconds += cost.cpu_seconds;
      w.used.gb_seconds += cost.gb_seconds;
    }
  }

  state(now = Date.now()): BudgetState[] {
    return this.windows.map((w) => {
      this.roll(w, now);
      const limits = Object.fromEntries((['invocations', 'cpu_seconds', 'gb_seconds'] as const).filter((m) => w.spec[m] !== undefined).map((m) => [m, w.spec[m]]));
      return { budget: budgetName(w.spec), period: w.spec.period, window_start: new Date(w.start).toISOString(), resets_at: new Date(w.end).toISOString(), used: { ...w.used }, limits };
    });
  }

  private coveringOf(subject: BudgetSubject): Window[] {
    // No budgets, nothing to remember per function (issue #7: no per-function state while idle).
    if (this.windows.length === 0) return this.windows;
    const key = `${subject.owner}\0${subject.function}`;
    let found = this.covering.get(key);
    if (!found) {
      // Bounded: one entry per (owner, function) that ran; start over past a generous size.
      if (this.covering.size >= 10_000) this.covering.clear();
      found = this.windows.filter((w) => budgetCovers(w.spec, subject));
      this.covering.set(key, found);
    }
    return found;
  }

  private roll(w: Window, now: number): void {
    if (now < w.end) return;
    const { start, end } = windowAt(w.period, now);
    Object.assign(w, { start, end, used: this.load(w.spec, start, end) });
  }
}
