import { AdminRoutesPoint, SandboxCustomizerPoint, ZygotePoolPoint, ZygoteSuitabilityPoint, definePlugin } from '../../core';
import { ZygoteRoutes } from './admin-routes';
import { configSchema } from './config';
import { ZygotePoolService } from './pool';

/**
 * Zygotes (SOCK, USENIX ATC'18): a tree of pre-imported package sets that
 * fork new instances, so a cold start skips the imports. Configured in
 * `zygote.tree` and learned from what functions import; unsuitable packages
 * (zygote-suitability) never enter it. Without this plugin every sandbox
 * starts fresh. See docs/zygotes.md.
 */
export default definePlugin({
  name: 'zygote',
  version: '0.1.0',
  description: 'zygote tree: instances forked from pre-imported packages',
  coreApi: '^1.0.0',
  provides: [ZygotePoolPoint, SandboxCustomizerPoint, AdminRoutesPoint],
  requires: [ZygoteSuitabilityPoint],
  configSchema,
  register(ctx) {
    ctx.container.registerSingleton(ZygotePoolService);
    ctx.provide(ZygotePoolPoint, ZygotePoolService);
    ctx.provide(SandboxCustomizerPoint, ZygotePoolService);
    ctx.provide(AdminRoutesPoint, ZygoteRoutes);
  },
  async start(ctx) {
    ctx.resolve(ZygotePoolService).start();
  },
  async stop(ctx) {
    ctx.resolve(ZygotePoolService).stop();
  },
});
