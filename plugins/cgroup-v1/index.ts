import { CgroupDriverPoint, cgroupDriverConfigSchema, definePlugin } from '../../core';
import { CgroupV1Driver } from './driver';

export default definePlugin({
  name: 'cgroup-v1',
  version: '0.1.0',
  description: 'Sandbox cgroups on v1 hierarchies (memory, pids, cpu, cpuacct, freezer; cpuset, blkio, hugetlb where mounted) for hybrid and legacy hosts',
  coreApi: '^1.0.0',
  provides: [CgroupDriverPoint],
  requires: [],
  configSchema: cgroupDriverConfigSchema,
  register(ctx) {
    // One instance, so stop() reaches the driver the kernel probed and bound.
    ctx.container.registerSingleton(CgroupV1Driver);
    ctx.provide(CgroupDriverPoint, CgroupV1Driver);
  },
  async stop(ctx) {
    // The sandbox backend normally shuts the driver down first; this covers a backend that failed to.
    await ctx.resolve(CgroupV1Driver).shutdown();
  },
});
