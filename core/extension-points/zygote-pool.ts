import { defineExtensionPoint } from '../plugin/extension-point';
import type { LoadedFunction } from '../functions/function-config';
import type { Sandbox, SandboxBackend } from './sandbox-backend';

/**
 * Serves new sandboxes from pre-imported zygotes. The sandbox backend asks it
 * first in `create(fn)`, passing itself (so the pool needs no dependency on
 * the backend); a null answer means "start a fresh sandbox". A pool never
 * throws for a failed fork: it logs, counts and answers null.
 * Combination: `chain`, optional: the first provider's non-null answer wins.
 */
export interface ZygotePool {
  sandboxFor(fn: LoadedFunction, backend: SandboxBackend): Promise<Sandbox | null>;
}

export const ZygotePoolPoint = defineExtensionPoint<ZygotePool>({
  id: 'ZygotePool',
  combine: 'chain',
  optional: true,
  compose: (providers) => ({
    async sandboxFor(fn, backend) {
      for (const p of providers) {
        const sandbox = await p.sandboxFor(fn, backend);
        if (sandbox) return sandbox;
      }
      return null;
    },
  }),
});
