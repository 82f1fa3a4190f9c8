import { inject, injectable, type DependencyContainer } from 'tsyringe';
import { Tokens } from '../di/tokens';
import type { WorkerConfig } from '../config/worker-config';
import { ConfigError } from '../config/schema-validator';
import { AccountingPoint, type Accounting, type Admission, type BudgetRefusal } from '../extension-points/accounting';
import type { LoadedFunction } from '../functions/function-config';
import { resolveKnobs } from '../functions/function-knobs';
import { HttpError } from '../http/http-error';
import type { Logger } from '../log/logger';
import type { Metrics } from '../metrics/metrics';
import type { InvocationUsage } from './invocation';

/** Response header with what the invocation used (see docs/accounting.md). */
export const USAGE_HEADER = 'X-OL-Usage';

/** What the gate answers instead of running: the 429 of an exhausted budget. */
export interface Refusal {
  status: number;
  contentType: string;
  body: object;
  headers: Record<string, string>;
}

/**
 * What issue #8 adds around a run, kept out of InvokeService: the request's
 * cgroup keys checked against the operator's policy, the budget check before
 * the run (Accounting.admit), the usage record after it (Accounting.record),
 * and the X-OL-Usage header.
 */
@injectable()
export class InvocationGate {
  constructor(
    @inject(Tokens.WorkerConfig) private readonly config: WorkerConfig,
    @inject(Tokens.Container) private readonly container: DependencyContainer,
    @inject(AccountingPoint.token) private readonly accounting: Accounting,
    @inject(Tokens.Metrics) private readonly metrics: Metrics,
    @inject(Tokens.Logger) private readonly log: Logger,
  ) {}

  /** The request's cgroup keys (X-OL-Cgroup or ?cgroup.KEY=), checked; 400 naming each bad key and its range. */
  knobs(asked: Record<string, string> | undefined, fn: LoadedFunction): Record<string, string> | undefined {
    if (!asked || !Object.keys(asked).length) return undefined;
    try {
      return resolveKnobs(asked, this.config.cgroup ?? {}, 'invocation', this.container, `request for "${fn.name}"`);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      throw new HttpError(400, 'bad-cgroup-keys', e.message, 'fix the X-OL-Cgroup header (KEY=VALUE,...) or the cgroup.KEY query parameters; the operator sets which keys a request may set (cgroup: in the worker config)');
    }
  }

  /** undefined to run; a 429 response when a budget is exhausted. Synchronous unless a provider must ask a shared store. */
  admit(fn: LoadedFunction, requestId: string): Refusal | undefined | Promise<Refusal | undefined> {
    const subject = { requestId, function: fn.name, owner: fn.config.owner };
    const answer = this.accounting.admit?.(subject);
    if (answer instanceof Promise) return answer.then((a) => this.refusal(fn, requestId, a));
    return answer && this.refusal(fn, requestId, answer);
  }

  /** Hands the usage to the Accounting providers; never throws into the request. */
  record(fn: LoadedFunction, requestId: string, arrivedMs: number, durationMs: number, outcome: string, usage: InvocationUsage | undefined): void {
    const ms = (usec?: number) => (usec === undefined ? undefined : usec / 1000);
    try {
      this.accounting.record({
        requestId,
        function: fn.name,
        owner: fn.config.owner,
        at: arrivedMs,
        wallMs: usage?.runMs ?? durationMs,
        cpuUserMs: ms(usage?.cpuUserUsec),
        cpuSystemMs: ms(usage?.cpuSystemUsec),
        memoryPeakBytes: usage?.memoryPeakBytes,
        memoryLimitBytes: usage?.memoryLimitBytes ?? fn.limits.memMb * 1024 * 1024,
        ioReadBytes: usage?.ioReadBytes,
        ioWriteBytes: usage?.ioWriteBytes,
        cpuThrottledMs: ms(usage?.cpuThrottledUsec),
        outcome,
      });
    } catch (e) {
      this.log.error({ reqId: requestId, fn: fn.name, err: e }, 'an accounting provider failed to take a usage record');
    }
  }

  /** `X-OL-Usage: wall_ms=12.3; cpu_user_ms=4.1; ...`: the fields the host could measure. */
  usageHeaders(usage: InvocationUsage | undefined): Record<string, string> {
    if (!usage) return {};
    const r = (x: number) => String(Math.round(x * 1000) / 1000);
    const fields: [string, number | undefined][] = [
      ['wall_ms', usage.runMs],
      ['cpu_user_ms', usage.cpuUserUsec === undefined ? undefined : usage.cpuUserUsec / 1000],
      ['cpu_system_ms', usage.cpuSystemUsec === undefined ? undefined : usage.cpuSystemUsec / 1000],
      ['memory_peak_bytes', usage.memoryPeakBytes],
      ['io_read_bytes', usage.ioReadBytes],
      ['io_write_bytes', usage.ioWriteBytes],
      ['cpu_throttled_ms', usage.cpuThrottledUsec === undefined ? undefined : usage.cpuThrottledUsec / 1000],
    ];
    const parts = fields.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${r(v!)}`);
    if (usage.memoryPeakScope) parts.push(`memory_peak_scope=${usage.memoryPeakScope}`);
    return { [USAGE_HEADER]: parts.join('; ') };
  }

  private refusal(fn: LoadedFunction, requestId: string, a: Admission): Refusal | undefined {
    if (!a) return undefined;
    this.metrics.invocations.inc({ function: fn.name, outcome: 'over-budget' });
    const retryAfter = Math.max(1, Math.ceil((Date.parse(a.resetsAt) - Date.now()) / 1000));
    return {
      status: 429,
      contentType: 'application/json',
      headers: { 'Retry-After': String(retryAfter) },
      body: { error: { code: 'budget-exceeded', message: refusalMessage(fn, a), hint: a.reason ? 'retry later; tell the operator if it persists' : `the budget resets at ${a.resetsAt}; ask the operator for a larger budget`, request_id: requestId, budget: a.budget, metric: a.metric, limit: a.limit, used: a.used, resets_at: a.resetsAt } },
    };
  }
}

function refusalMessage(fn: LoadedFunction, a: BudgetRefusal): string {
  if (a.reason) return `function "${fn.name}" cannot run now: ${a.reason} (budget ${a.budget})`;
  return `function "${fn.name}" is over budget ${a.budget}: ${round(a.used)} of ${round(a.limit)} ${a.metric} used; it resets at ${a.resetsAt}`;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
