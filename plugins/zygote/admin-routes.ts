import type Router from '@koa/router';
import { inject, injectable, type AdminRoutes } from '../../core';
import { ZygotePoolService } from './pool';

/** GET /zygote/tree (admin socket): every zygote node, its packages, state, live instances and forks. */
@injectable()
export class ZygoteRoutes implements AdminRoutes {
  constructor(@inject(ZygotePoolService) private readonly pool: ZygotePoolService) {}

  mount(router: Router): void {
    router.get('/zygote/tree', (ctx) => {
      ctx.body = { zygotes: this.pool.tree.describe() };
    });
  }
}
