import { inject, injectable } from 'tsyringe';
import { Tokens } from '../di/tokens';
import { SchedulerPoint, QueueFullError, type Scheduler } from '../extension-points/scheduler';
import type { FunctionLoader } from '../functions/function-loader';
import { FAILURE_STATUS } from '../http/failure-status';
import { HttpError } from '../http/http-error';
import type { Logger } from '../log/logger';

export interface InvokeRequest {
  name: string;
  method: string;
  body: Buffer;
  requestId: string;
}

export interface InvokeResponse {
  status: number;
  contentType: string;
  body: Buffer | string | object;
  headers?: Record<string, string>;
}

/** The path of one `/run/<name>` call: load the function, check the request, schedule, map the outcome. */
@injectable()
export class InvokeService {
  constructor(
    @inject(Tokens.FunctionLoader) private readonly loader: FunctionLoader,
    @inject(SchedulerPoint.token) private readonly scheduler: Scheduler,
    @inject(Tokens.Logger) private readonly log: Logger,
  ) {}

  async invoke(req: InvokeRequest): Promise<InvokeResponse> {
    const fn = await this.loader.load(req.name);
    if (fn.config.methods && !fn.config.methods.includes(req.method)) {
      throw new HttpError(405, 'method-not-allowed', `function "${fn.name}" does not accept ${req.method}`, `use ${fn.config.methods.join(' or ')} (triggers.http in its ol.yaml)`, { Allow: fn.config.methods.join(', ') });
    }
    checkJson(req.body);
    let outcome;
    try {
      outcome = await this.scheduler.run(fn, { requestId: req.requestId, body: req.body, method: req.method });
    } catch (e) {
      if (e instanceof QueueFullError) {
        throw new HttpError(429, 'queue-full', e.message, `retry after ${e.retryAfterSeconds} s`, { 'Retry-After': String(e.retryAfterSeconds) });
      }
      if (e instanceof HttpError) throw e;
      this.log.error({ reqId: req.requestId, fn: fn.name, err: e }, 'platform failure while running a function');
      throw new HttpError(503, 'sandbox-unavailable', `the worker could not run "${fn.name}": ${(e as Error).message}`, 'this is a worker problem, not your function; retry, and tell the operator if it persists');
    }
    if (outcome.ok) return { status: 200, contentType: outcome.contentType, body: outcome.body };
    const f = outcome.failure;
    this.log.info({ reqId: req.requestId, fn: fn.name, kind: f.kind }, 'function failed');
    return {
      status: FAILURE_STATUS[f.kind],
      contentType: 'application/json',
      headers: { 'X-OL-Error': f.kind },
      body: { error: { code: f.kind, ...f, kind: undefined, request_id: req.requestId } },
    };
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
