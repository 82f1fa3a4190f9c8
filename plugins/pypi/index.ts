import { AdminRoutesPoint, PackageResolverPoint, SandboxCustomizerPoint, definePlugin } from '../../core';
import { PackageAdminRoutes } from './admin-routes';
import { configSchema } from './config';
import { PackageMounts } from './package-mounts';
import { PypiResolver } from './pypi-resolver';

export { PypiResolver } from './pypi-resolver';

/**
 * Python packages from PEP 503/691 indexes: a backtracking resolver (PEP 440
 * ranges, PEP 508 extras and markers), ol.lock files, and a shared store of
 * wheels installed once per version and mounted read-only into sandboxes.
 */
export default definePlugin({
  name: 'pypi',
  version: '0.1.0',
  description: 'PyPI packages: resolver, lock files, shared multi-version store with a disk budget',
  coreApi: '^1.0.0',
  provides: [PackageResolverPoint, SandboxCustomizerPoint, AdminRoutesPoint],
  requires: [],
  configSchema,
  register(ctx) {
    // One resolver owns the store; the customizer and the admin routes share it.
    ctx.container.registerSingleton(PypiResolver);
    ctx.provide(PackageResolverPoint, PypiResolver);
    ctx.provide(SandboxCustomizerPoint, PackageMounts);
    ctx.provide(AdminRoutesPoint, PackageAdminRoutes);
  },
  async start(ctx) {
    await ctx.resolve(PypiResolver).store.init();
  },
});
