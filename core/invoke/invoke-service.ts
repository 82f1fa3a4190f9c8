import { inject, injectable } from 'tsyringe';
import { Tokens } from '../di/tokens';
import { InvocationRecordsPoint, type InvocationRecord, type InvocationRecords } from '../extension-points/invocation-records';
import { SchedulerPoint, QueueFullError, type Scheduler } from '../extension-points/scheduler';
import type { LoadedFunction } from '../functions/function-config';
import type { FunctionLoader } from '../functions/function-loader';
import { FAILURE_STATUS } from '../http/failure-status';
import { HttpError } from '../http/http-error';
import type { Logger } from '../log/logger';
import type { Metrics } from '../metrics/metrics';
import { FUNCTION_ERROR_HEADER, errorType, functionErrorBody } from './function-error';
import { InvocationGate } from './invocation-gate';
import type { InvocationOutcome } from './invocation';
import { LOG_RESULT_HEADER, logTail } from './log-tail';

export interface InvokeRequest {
  name: string;
  method: string;
  body: Buffer;
  requestId: string;
  /** 'Tail': answer with the end of the invocation's output in X-OL-Log-Result. */
  logType?: string;
  /** cgroup keys this request asks for (X-OL-Cgroup / ?cgroup.KEY=), not yet checked. */
  cgroup?: Record<string, string>;
}

export interface InvokeResponse {
  status: number;
  contentType: string;
  body: Buffer | string | object;
  headers?: Record<string, string>;
}

/**
 * The path of one `/run/<name>` call: load the function, check the request,
 * schedule, map the outcome; then hand the invocation's record (output,
 * failure, usage) to the InvocationRecords plugins and count it in the metrics.
 */
@injectable()
export class InvokeService {
  constructor(
    @inject(Tokens.FunctionLoader) private readonly loader: FunctionLoader,
    @inject(SchedulerPoint.token) private readonly scheduler: Scheduler,
    @inject(Tokens.Logger) private readonly log: Logger,
    @inject(InvocationRecordsPoint.token) private readonly records: InvocationRecords,
    @inject(Tokens.Metrics) private readonly metrics: Metrics,
    @inject(InvocationGate) private readonly gate: InvocationGate,
  ) {}

  async invoke(req: InvokeRequest): Promise<InvokeResponse> {
    const fn = await this.loader.load(req.name);
    if (fn.config.methods && !fn.config.methods.includes(req.method)) {
      throw new HttpError(405, 'method-not-allowed', `function "${fn.name}" does not accept ${req.method}`, `use ${fn.config.methods.join(' or ')} (triggers.http in its ol.yaml)`, { Allow: fn.config.methods.join(', ') });
    }
    checkJson(req.body);
    const cgroup = this.gate.knobs(req.cgroup, fn);
    const refused = await this.gate.admit(fn, req.requestId);
    if (refused) return refused;
    const started = new Date();
    let outcome: InvocationOutcome;
    try {
      outcome = await this.scheduler.run(fn, { requestId: req.requestId, body: req.body, method: req.method, cgroup });
    } catch (e) {
      if (e instanceof QueueFullError) {
        this.metrics.invocations.inc({ function: fn.name, outcome: 'rejected' });
        throw new HttpError(429, 'queue-full', e.message, `retry after ${e.retryAfterSeconds} s`, { 'Retry-After': String(e.retryAfterSeconds) });
      }
      if (e instanceof HttpError) throw e;
      this.log.error({ reqId: req.requestId, fn: fn.name, err: e }, 'platform failure while running a function');
      const message = `the worker could not run "${fn.name}": ${(e as Error).message}`;
      this.report(fn, req, started, { outcome: 'platform', failure: { kind: 'crashed', type: 'Platform.SandboxUnavailable', errorType: 'Platform.SandboxUnavailable', message } });
      throw new HttpError(503, 'sandbox-unavailable', message, 'this is a worker problem, not your function; retry, and tell the operator if it persists');
    }
    const headers: Record<string, string> = {};
    if (req.logType?.toLowerCase() === 'tail' && outcome.output) headers[LOG_RESULT_HEADER] = logTail(outcome.output);
    Object.assign(headers, this.gate.usageHeaders(outcome.usage));
    if (outcome.ok) {
      this.report(fn, req, started, { outcome: 'ok', output: outcome.output, usage: outcome.usage });
      return { status: 200, contentType: outcome.contentType, body: outcome.body, headers };
    }
    const f = outcome.failure;
    this.log.info({ reqId: req.requestId, fn: fn.name, kind: f.kind }, 'function failed');
    this.report(fn, req, started, { outcome: f.kind, failure: { ...f, errorType: errorType(f) }, output: outcome.output, usage: outcome.usage });
    return {
      status: FAILURE_STATUS[f.kind],
      contentType: 'application/json',
      headers: { ...headers, 'X-OL-Error': f.kind, [FUNCTION_ERROR_HEADER]: errorType(f) },
      body: functionErrorBody(fn.name, req.requestId, f),
    };
  }

  /** Record and count a finished invocation; never lets a sink's fault reach the caller. */
  private report(fn: LoadedFunction, req: InvokeRequest, started: Date, rest: Pick<InvocationRecord, 'outcome' | 'failure' | 'output' | 'usage'>): void {
    const durationMs = Date.now() - started.getTime();
    this.gate.record(fn, req.requestId, started.getTime(), durationMs, rest.outcome, rest.usage);
    this.metrics.invocations.inc({ function: fn.name, outcome: rest.outcome });
    this.metrics.invocationSeconds.observe({ function: fn.name, phase: 'total' }, durationMs / 1000);
    if (rest.usage) {
      this.metrics.invocationSeconds.observe({ function: fn.name, phase: 'run' }, rest.usage.runMs / 1000);
      this.metrics.invocationSeconds.observe({ function: fn.name, phase: 'wait' }, Math.max(0, durationMs - rest.usage.runMs) / 1000);
    }
    try {
      this.records.record({ requestId: req.requestId, function: fn.name, version: fn.version, startedAt: started.toISOString(), durationMs, ...rest });
    } catch (e) {
      this.log.error({ reqId: req.requestId, fn: fn.name, err: e }, 'an invocation record sink failed');
    }
  }
}

function checkJson(body: Buffer): void {
  if (body.length === 0) return;
  try {
    JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new HttpError(400, 'malformed-json', `the request body is not valid JSON: ${(e as Error).message}`, 'send a JSON document (the event your function receives), or an empty body');
  }
}
