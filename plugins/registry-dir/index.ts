import { definePlugin, FunctionRegistryPoint } from '../../core';
import { configSchema } from './config';
import { DirRegistry } from './dir-registry';

export { DirRegistry } from './dir-registry';
export { RegistryError } from './registry-error';

/**
 * Function code from directories: read-only ones (`dirs`, e.g. the bundled
 * examples/) and a writable upload directory filled by checked .tar.gz
 * uploads.
 */
export default definePlugin({
  name: 'registry-dir',
  version: '0.1.0',
  description: 'Function registry backed by directories, with checked .tar.gz uploads',
  coreApi: '^1.0.0',
  provides: [FunctionRegistryPoint],
  requires: [],
  configSchema,
  register(ctx) {
    // One instance serves the extension point and the start hook.
    ctx.container.registerSingleton(DirRegistry);
    ctx.provide(FunctionRegistryPoint, DirRegistry);
  },
  async start(ctx) {
    await ctx.resolve(DirRegistry).start();
  },
  stop(ctx) {
    ctx.resolve(DirRegistry).stop();
  },
});
