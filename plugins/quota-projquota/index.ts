import { DiskQuotaCustomizer, DiskQuotaPoint, SandboxCustomizerPoint, definePlugin } from '../../core';
import { projquotaConfigSchema } from './config';
import { ProjquotaQuota } from './projquota';

export { ProjquotaQuota } from './projquota';

/**
 * Disk quotas through the kernel's project quotas (ext4 prjquota, xfs):
 * one project per owner. Fails at start, naming the missing kernel options,
 * on a kernel without quota support (use quota-loopfs there).
 */
export default definePlugin({
  name: 'quota-projquota',
  version: '0.1.0',
  description: 'per-owner disk quotas with ext4/xfs project quotas',
  coreApi: '^1.0.0',
  provides: [DiskQuotaPoint, SandboxCustomizerPoint],
  requires: [],
  configSchema: projquotaConfigSchema,
  register(ctx) {
    ctx.container.registerSingleton(ProjquotaQuota);
    ctx.provide(DiskQuotaPoint, ProjquotaQuota);
    ctx.provide(SandboxCustomizerPoint, { useValue: new DiskQuotaCustomizer(ctx.resolve(ProjquotaQuota)) });
  },
  async start(ctx) {
    await ctx.resolve(ProjquotaQuota).start();
  },
  async stop(ctx) {
    await ctx.resolve(ProjquotaQuota).stop();
  },
});
