import { AdminRoutesPoint, SandboxCustomizerPoint, ZygoteSuitabilityPoint, definePlugin } from '../../core';
import { SuitabilityRoutes } from './admin-routes';
import { configSchema } from './config';
import { SuitabilityChecker } from './suitability';

/**
 * Zygote suitability: imports each package version in a throwaway sandbox
 * and inspects the process from outside (/proc: threads, fds and their open
 * flags, child processes, shared writable mappings). A package that leaves a
 * process unfit to fork from never enters a zygote. Verdicts are cached on
 * disk; `ol zygote check <pkg>[==ver]` and GET /zygote/suitability/<pkg> show them.
 */
export default definePlugin({
  name: 'zygote-suitability',
  version: '0.1.0',
  description: 'per-package zygote suitability verdicts from /proc probes of a real import',
  coreApi: '^1.0.0',
  provides: [ZygoteSuitabilityPoint, SandboxCustomizerPoint, AdminRoutesPoint],
  // SandboxBackend and PackageResolver are resolved when a check runs, not required:
  // the sandbox backend itself depends (through the zygote pool) on this plugin.
  requires: [],
  configSchema,
  register(ctx) {
    ctx.container.registerSingleton(SuitabilityChecker);
    ctx.provide(ZygoteSuitabilityPoint, SuitabilityChecker);
    ctx.provide(SandboxCustomizerPoint, SuitabilityChecker);
    ctx.provide(AdminRoutesPoint, SuitabilityRoutes);
  },
});
