import type Router from '@koa/router';
import { inject, injectable, type AdminRoutes } from '../../core';
import { SuitabilityChecker } from './suitability';

/**
 * Admin endpoint (Unix socket only):
 *   GET /zygote/suitability/:package[?version=V]   the verdict as JSON (probing it first if not cached)
 */
@injectable()
export class SuitabilityRoutes implements AdminRoutes {
  constructor(@inject(SuitabilityChecker) private readonly checker: SuitabilityChecker) {}

  mount(router: Router): void {
    router.get('/zygote/suitability/:spec', async (ctx) => {
      const [name, pinned] = String(ctx.params.spec).split('==');
      const version = (ctx.query.version as string | undefined) ?? pinned;
      const verdict = await this.checker.verdict(name, version || undefined);
      if (!verdict) {
        const what = version ? `${name}==${version}` : name;
        throw Object.assign(new Error(`package ${what} is not installed in zygote-suitability.package_dirs and the PackageResolver cannot install it; check the name and version, or add its directory to zygote-suitability.package_dirs`), { status: 404 });
      }
      ctx.body = verdict;
    });
  }
}
