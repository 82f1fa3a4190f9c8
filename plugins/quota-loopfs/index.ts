import { DiskQuotaCustomizer, DiskQuotaPoint, SandboxCustomizerPoint, definePlugin } from '../../core';
import { loopfsConfigSchema } from './config';
import { LoopfsQuota } from './loopfs-quota';

export { LoopfsQuota } from './loopfs-quota';

/**
 * Disk quotas without kernel quota support: one loop-mounted ext4 image per
 * owner holds that owner's uploaded code and its sandboxes' scratch dirs.
 * Provides DiskQuota (upload checks) and a SandboxCustomizer (scratch dirs).
 */
export default definePlugin({
  name: 'quota-loopfs',
  version: '0.1.0',
  description: 'per-owner disk quotas as loop-mounted ext4 images (code + scratch)',
  coreApi: '^1.0.0',
  provides: [DiskQuotaPoint, SandboxCustomizerPoint],
  requires: [],
  configSchema: loopfsConfigSchema,
  register(ctx) {
    ctx.container.registerSingleton(LoopfsQuota);
    ctx.provide(DiskQuotaPoint, LoopfsQuota);
    // Its constructor needs only the plugin's config, paths and logger, all bound already.
    ctx.provide(SandboxCustomizerPoint, { useValue: new DiskQuotaCustomizer(ctx.resolve(LoopfsQuota)) });
  },
  async start(ctx) {
    await ctx.resolve(LoopfsQuota).start();
  },
  async stop(ctx) {
    await ctx.resolve(LoopfsQuota).stop();
  },
});
