import { inject, injectable, type AdminRoutes } from '../../core';
import type Router from '@koa/router';
import { UsageStore } from './usage-store';

/** "2026-11-29T10:00:00Z", "2026-11-29" or ms since the epoch. */
function parseTime(name: string, v: unknown): number | undefined {
  if (v === undefined || v === '') return undefined;
  const s = String(v);
  const t = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  if (Number.isNaN(t)) throw Object.assign(new Error(`${name}=${s} is not a time; use an ISO time (2026-11-29T10:00:00Z) or milliseconds since the epoch`), { status: 400 });
  return t;
}

const str = (v: unknown) => (v === undefined || v === '' ? undefined : String(v));

/**
 * GET /usage?owner=&function=&from=&to=  cumulative usage per (owner, function) and the budgets' state;
 * GET /usage/requests/<request id>        one invocation's record.
 */
@injectable()
export class UsageRoutes implements AdminRoutes {
  constructor(@inject(UsageStore) private readonly store: UsageStore) {}

  mount(router: Router): void {
    router.get('/usage', (ctx) => {
      const q = { owner: str(ctx.query.owner), function: str(ctx.query.function), from: parseTime('from', ctx.query.from), to: parseTime('to', ctx.query.to) };
      ctx.body = {
        query: { ...q, from: q.from === undefined ? undefined : new Date(q.from).toISOString(), to: q.to === undefined ? undefined : new Date(q.to).toISOString() },
        usage: this.store.totals(q),
        budgets: this.store.budgets(),
      };
    });
    router.get('/usage/requests/:id', (ctx) => {
      const rec = this.store.invocation(ctx.params.id);
      if (!rec) throw Object.assign(new Error(`no usage recorded for request ${ctx.params.id} (records are written within accounting-sqlite.flush_ms)`), { status: 404 });
      ctx.body = rec;
    });
  }
}
