import { defineExtensionPoint } from '../plugin/extension-point';

/** What one invocation used, measured around it from its sandbox's cgroup (see docs/accounting.md). */
export interface UsageRecord {
  requestId: string;
  function: string;
  owner: string;
  /** When the request arrived (ms since the epoch): the period a budget charges it to. */
  at: number;
  /** Time in the sandbox (or, when it never reached one, from arrival to answer). */
  wallMs: number;
  cpuUserMs?: number;
  cpuSystemMs?: number;
  memoryPeakBytes?: number;
  /** The memory the instance was allowed (memory.max): GB-seconds are charged on it, as reserved. */
  memoryLimitBytes?: number;
  ioReadBytes?: number;
  ioWriteBytes?: number;
  cpuThrottledMs?: number;
  /** 'ok', a failure kind, or 'platform'. */
  outcome: string;
}

/** Who a run would be charged to, asked before it starts. */
export interface BudgetSubject {
  requestId: string;
  function: string;
  owner: string;
}

/** Why a run is refused: which budget, how much of it is used, and when it resets. */
export interface BudgetRefusal {
  /** The budget's name, e.g. "owner alice: invocations per 1h". */
  budget: string;
  /** invocations | cpu_seconds | gb_seconds */
  metric: string;
  limit: number;
  used: number;
  /** ISO time the period ends and the budget is full again. */
  resetsAt: string;
  /** Set when the refusal is not about the period (e.g. the shared store is unreachable and the policy is fail-closed). */
  reason?: string;
}

export type Admission = BudgetRefusal | undefined;

/**
 * Usage accounting and budgets. Combination: `parallel`: every provider
 * receives every usage record (one stores it, another shares budgets through
 * Redis...), and a run is admitted only when every provider admits it; the
 * first refusal (in `plugins:` order) is the one the caller sees.
 *
 * `admit` runs on the request path before the run: answer from memory
 * (return a value, not a Promise) whenever possible, and return a Promise
 * only when a shared store must be asked. `record` runs after the answer is
 * known and must not block: queue the write and return.
 */
export interface Accounting {
  admit?(subject: BudgetSubject): Admission | Promise<Admission>;
  record(usage: UsageRecord): void;
}

/** Admits when every provider does; stays synchronous while every answer is. */
function admitAll(providers: Accounting[], subject: BudgetSubject): Admission | Promise<Admission> {
  for (let i = 0; i < providers.length; i++) {
    const answer = providers[i].admit?.(subject);
    if (answer instanceof Promise) return answer.then((a) => a ?? admitAll(providers.slice(i + 1), subject));
    if (answer) return answer;
  }
  return undefined;
}

export const AccountingPoint = defineExtensionPoint<Accounting>({
  id: 'Accounting',
  combine: 'parallel',
  optional: true,
  compose: (providers) => ({
    admit: (subject) => admitAll(providers, subject),
    record(usage) {
      for (const p of providers) p.record(usage);
    },
  }),
});
