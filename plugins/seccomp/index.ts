import { FunctionValidatorPoint, SandboxCustomizerPoint, SeccompFiltersPoint, SyscallNamesPoint, definePlugin } from '../../core';
import { seccompConfigSchema } from './config';
import { SeccompCustomizer } from './customizer';
import { TieredFilters } from './filters';
import { ProfileStore } from './profile-store';
import { SyscallTable } from './syscall-table';
import { SeccompValidator } from './validator';

/**
 * seccomp filters for sandboxes: OCI/Docker JSON profiles compiled to classic
 * BPF for the host architecture, in a leaf tier (function code) and a zygote
 * tier (may also create namespaces and change root). Each sandbox gets its
 * function's leaf filter through the SandboxCustomizer point; ol.yaml
 * `seccomp:` picks a profile among those the operator allows. A zygote pool
 * asks the SeccompFilters point for both tiers.
 */
export default definePlugin({
  name: 'seccomp',
  version: '0.1.0',
  description: 'seccomp profiles (OCI/Docker JSON) compiled to BPF, per function, in leaf and zygote tiers',
  coreApi: '^1.0.0',
  provides: [SandboxCustomizerPoint, FunctionValidatorPoint, SyscallNamesPoint, SeccompFiltersPoint],
  requires: [],
  configSchema: seccompConfigSchema,
  register(ctx) {
    ctx.container.registerSingleton(ProfileStore);
    ctx.provide(SandboxCustomizerPoint, SeccompCustomizer);
    ctx.provide(FunctionValidatorPoint, SeccompValidator);
    ctx.provide(SyscallNamesPoint, SyscallTable);
    ctx.provide(SeccompFiltersPoint, TieredFilters);
  },
  async start(ctx) {
    ctx.resolve(ProfileStore).start();
  },
});
