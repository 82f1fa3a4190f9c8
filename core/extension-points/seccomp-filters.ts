import { defineExtensionPoint } from '../plugin/extension-point';
import type { LoadedFunction } from '../functions/function-config';

/**
 * Which sandbox process a filter is for. A `leaf` runs function code and may
 * not create namespaces, mount or change root; a `zygote` must, to fork
 * leaves, so its filter allows that. A leaf forked from a zygote stacks the
 * leaf filter on top (seccomp filters only ever narrow) before running
 * function code.
 */
export type SeccompTier = 'leaf' | 'zygote';

/**
 * Compiled seccomp filters by function and tier, for plugins that start
 * sandbox processes themselves (a zygote pool). Ordinary sandboxes get their
 * leaf filter through the SandboxCustomizer point. Combination: `exclusive`,
 * optional: without a provider, sandboxes run unfiltered.
 */
export interface SeccompFilters {
  /** Host path of the raw struct sock_filter array (the launcher's `--seccomp FILE`) for `fn` in `tier`. */
  filterFile(fn: LoadedFunction, tier: SeccompTier): string;
}

export const SeccompFiltersPoint = defineExtensionPoint<SeccompFilters>({
  id: 'SeccompFilters',
  combine: 'exclusive',
  optional: true,
});
