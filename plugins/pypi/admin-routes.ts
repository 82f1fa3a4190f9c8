import type Router from '@koa/router';
import getRawBody from 'raw-body';
import { inject, injectable, type AdminRoutes } from '../../core';
import { PackageError } from './package-error';
import { PypiResolver } from './pypi-resolver';

/**
 * Admin endpoints (Unix socket only):
 *   GET  /packages                  the store: budget, usage, every installed version and whether it is in use
 *   GET  /packages/functions/:name  what the worker resolved for a function, with the lock to freeze it
 *   POST /packages/lock             {"requirements": [...]} -> an ol.lock document (used by `ol pkg lock`)
 */
@injectable()
export class PackageAdminRoutes implements AdminRoutes {
  constructor(@inject(PypiResolver) private readonly resolver: PypiResolver) {}

  mount(router: Router): void {
    router.get('/packages', async (ctx) => {
      await this.resolver.store.init();
      ctx.body = this.resolver.store.usage();
    });
    router.get('/packages/functions/:name', (ctx) => {
      const report = this.resolver.report(ctx.params.name);
      if (!report) {
        throw new PackageError(`no package resolution is known for "${ctx.params.name}": the worker resolves a function's packages when it first loads it`, 'call the function once, or run `ol pkg lock <function dir>`', 404);
      }
      ctx.body = report;
    });
    router.post('/packages/lock', async (ctx) => {
      const requirements = parseLockRequest(await getRawBody(ctx.req, { limit: 1024 * 1024 }));
      ctx.body = await this.resolver.lock(requirements);
    });
  }
}

function parseLockRequest(body: Buffer): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    doc = undefined;
  }
  const reqs = (doc as { requirements?: unknown })?.requirements;
  if (!Array.isArray(reqs) || !reqs.every((r) => typeof r === 'string' && r.trim())) {
    throw new PackageError('the body must be JSON {"requirements": ["name[extra]>=1.0", ...]}', 'send the PEP 508 requirements to lock', 400);
  }
  return reqs;
}
