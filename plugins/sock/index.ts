import { CgroupDriverPoint, SandboxBackendPoint, SandboxCustomizerPoint, SyscallNamesPoint, ZygotePoolPoint, definePlugin } from '../../core';
import { SockBackend } from './backend';
import { sockConfigSchema } from './config';

/**
 * SOCK sandboxes for the SandboxBackend extension point: namespaces, a
 * read-only root of binds, a cgroup per instance (through whichever
 * CgroupDriver is bound) and the Python runtime on a Unix socket.
 */
export default definePlugin({
  name: 'sock',
  version: '0.1.0',
  description: 'SOCK sandboxes (namespaces + pivot_root + cgroups) started by native/ol-launcher',
  coreApi: '^1.0.0',
  provides: [SandboxBackendPoint],
  requires: [CgroupDriverPoint, SandboxCustomizerPoint, SyscallNamesPoint, ZygotePoolPoint],
  configSchema: sockConfigSchema,
  register(ctx) {
    // One instance: the one bound to SandboxBackend is the one start() and stop() manage.
    ctx.container.registerSingleton(SockBackend);
    ctx.provide(SandboxBackendPoint, SockBackend);
  },
  async start(ctx) {
    const backend = ctx.resolve(SockBackend);
    if (ctx.resolve(SandboxBackendPoint.token) !== backend) {
      ctx.logger.info('another SandboxBackend is selected; the SOCK backend stays idle');
      return;
    }
    await backend.start();
  },
  async stop(ctx) {
    await ctx.resolve(SockBackend).stop();
  },
});
