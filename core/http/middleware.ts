import { randomBytes } from 'node:crypto';
import type Koa from 'koa';
import getRawBody from 'raw-body';
import type { Logger } from '../log/logger';
import { HttpError } from './http-error';

/** Every response carries X-Request-Id; the id is also on every log line about the request. */
export function requestId(): Koa.Middleware {
  return async (ctx, next) => {
    ctx.state.requestId = randomBytes(8).toString('hex');
    ctx.set('X-Request-Id', ctx.state.requestId);
    await next();
  };
}

/** Errors become JSON bodies that say what happened and what to do; unexpected ones are logged. */
export function errorBody(log: Logger): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new HttpError(404, 'not-found', `nothing at ${ctx.method} ${ctx.path}`, 'functions are called with POST /run/<name>');
      }
    } catch (e) {
      const err = toHttpError(e);
      if (err.status >= 500 && !(e instanceof HttpError)) log.error({ reqId: ctx.state.requestId, err: e }, 'unhandled error');
      ctx.status = err.status;
      ctx.set(err.headers);
      ctx.body = { error: { code: err.code, message: err.message, hint: err.hint, request_id: ctx.state.requestId } };
    }
  };
}

/** Read the whole request body up to a limit (413 past it). */
export async function readBody(ctx: Koa.Context, limit: number): Promise<Buffer> {
  try {
    return await getRawBody(ctx.req, { limit, length: ctx.get('content-length') || undefined });
  } catch (e: any) {
    if (e?.type === 'entity.too.large') throw new HttpError(413, 'body-too-large', `the request body is larger than ${limit} bytes`, 'send a smaller event, or ask the operator to raise http.max_body_bytes');
    throw new HttpError(400, 'bad-body', `could not read the request body: ${e?.message}`);
  }
}

/**
 * Plugins reject bad input by throwing an Error with a 4xx `status` (Koa's
 * convention); its message is shown to the caller. Anything else is a 500
 * whose details stay in the log.
 */
export function toHttpError(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  const status = (e as { status?: unknown })?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) return new HttpError(status, 'bad-request', (e as Error).message);
  return new HttpError(500, 'internal', 'the worker failed while handling this request', 'retry; if it persists, tell the operator and quote the request id');
}
