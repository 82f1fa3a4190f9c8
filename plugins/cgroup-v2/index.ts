import { CgroupDriverPoint, cgroupDriverConfigSchema, definePlugin } from '../../core';
import { CgroupV2Driver } from './driver';

export default definePlugin({
  name: 'cgroup-v2',
  version: '0.1.0',
  description: 'Sandbox cgroups on the unified (v2) hierarchy, with event-driven freeze, kill and removal',
  coreApi: '^1.0.0',
  provides: [CgroupDriverPoint],
  requires: [],
  configSchema: cgroupDriverConfigSchema,
  register(ctx) {
    // One instance, so stop() reaches the driver the kernel probed and bound.
    ctx.container.registerSingleton(CgroupV2Driver);
    ctx.provide(CgroupDriverPoint, CgroupV2Driver);
  },
  async stop(ctx) {
    // The sandbox backend normally shuts the driver down first; this covers a backend that failed to.
    await ctx.resolve(CgroupV2Driver).shutdown();
  },
});
