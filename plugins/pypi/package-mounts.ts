import * as path from 'node:path';
import { inject, injectable, type LoadedFunction, type SandboxAdditions, type SandboxCustomizer } from '../../core';
import { PypiResolver } from './pypi-resolver';
import { PACKAGES_MOUNT } from './sandbox-paths';

export { PACKAGES_MOUNT } from './sandbox-paths';

/**
 * Mounts exactly the function's resolved packages into its sandboxes and puts
 * them on sys.path, and tells the store they are in use while the sandbox
 * lives (so eviction never pulls them from under it).
 */
@injectable()
export class PackageMounts implements SandboxCustomizer {
  constructor(@inject(PypiResolver) private readonly resolver: PypiResolver) {}

  async prepare(fn: LoadedFunction, sandboxId: string): Promise<SandboxAdditions> {
    const dirs = fn.packages?.paths ?? [];
    if (!dirs.length) return {};
    this.resolver.store.acquire(sandboxId, dirs.map((d) => path.basename(d)));
    const targets = dirs.map((d) => path.posix.join(PACKAGES_MOUNT, path.basename(d)));
    return {
      mounts: dirs.map((source, i) => ({ source, target: targets[i] })),
      pythonPaths: targets,
    };
  }

  async release(sandboxId: string): Promise<void> {
    this.resolver.store.release(sandboxId);
  }
}
