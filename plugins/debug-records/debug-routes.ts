import type Router from '@koa/router';
import { Tokens, inject, injectable, type AdminRoutes, type Logger } from '../../core';
import { errorText } from './error-text';
import { isSafeName } from './record-files';
import { RecordStore } from './record-store';

/** Longest a `?wait=` long poll may hold a connection (ol logs --follow renews it). */
const MAX_WAIT_S = 60;

/**
 * `/debug/<fn>...` on the admin socket:
 *   GET /debug/<fn>[?after=<id>&wait=<s>]   the function's records, oldest first (long poll with wait)
 *   GET /debug/<fn>/<id>                    one record: outcome, failure, usage, output sizes
 *   GET /debug/<fn>/<id>/stdout|stderr      the captured output (text)
 *   GET /debug/<fn>/<id>/error              why it failed, with evidence and advice (text)
 *   GET /debug/<fn>/<id>/usage              time, CPU and memory (JSON)
 */
@injectable()
export class DebugRoutes implements AdminRoutes {
  constructor(
    @inject(RecordStore) private readonly store: RecordStore,
    @inject(Tokens.Logger) private readonly log: Logger,
  ) {}

  mount(router: Router): void {
    router.get('/debug/:fn', async (ctx) => {
      const fn = checkName(ctx.params.fn, 'function name');
      const after = typeof ctx.query.after === 'string' ? ctx.query.after : undefined;
      const wait = Math.min(Number(ctx.query.wait ?? 0) || 0, MAX_WAIT_S);
      const gone = new AbortController();
      ctx.req.once('close', () => gone.abort());
      const records = wait > 0 ? await this.store.waitFor(fn, after, wait * 1000, gone.signal) : this.store.list(fn, after);
      ctx.body = { function: fn, records };
    });
    router.get('/debug/:fn/:id', async (ctx) => {
      ctx.body = await this.record(ctx.params.fn, ctx.params.id);
    });
    router.get('/debug/:fn/:id/:part', async (ctx) => {
      const { fn, id, part } = ctx.params;
      const rec = await this.record(fn, id);
      if (part === 'stdout' || part === 'stderr') {
        ctx.type = 'text/plain; charset=utf-8';
        ctx.body = (await this.store.files.readStream(fn, id, part)) ?? '';
      } else if (part === 'usage') {
        ctx.body = { requestId: id, function: fn, startedAt: rec.startedAt, durationMs: rec.durationMs, outcome: rec.outcome, ...rec.usage };
      } else if (part === 'error') {
        if (!rec.failure) throw status(404, `request ${id} of function ${fn} succeeded: it has no error; GET /debug/${fn}/${id}/stdout shows its output`);
        ctx.type = 'text/plain; charset=utf-8';
        ctx.body = errorText(rec, (await this.store.files.readStream(fn, id, 'stderr')) ?? '');
      } else {
        throw status(404, `no part "${part}" in an invocation record; ask for stdout, stderr, error or usage`);
      }
    });
    this.log.debug('debug record routes mounted on the admin socket');
  }

  private async record(fn: string, id: string) {
    checkName(fn, 'function name');
    checkName(id, 'request id');
    const rec = this.store.has(fn, id) ? await this.store.files.read(fn, id) : null;
    if (!rec) throw status(404, `no record of request ${id} for function ${fn}: records are kept for the last invocations of each function for a limited time (debug-records.keep_per_function, max_age_s); GET /debug/${fn} lists them`);
    return rec;
  }
}

function checkName(name: string, what: string): string {
  if (!isSafeName(name)) throw status(400, `invalid ${what} ${JSON.stringify(name)}`);
  return name;
}

/** Koa's convention, which the admin app turns into a JSON error with this message. */
function status(code: number, message: string): Error {
  return Object.assign(new Error(message), { status: code });
}
