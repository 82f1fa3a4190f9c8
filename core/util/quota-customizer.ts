import type { DiskQuota } from '../extension-points/disk-quota';
import type { SandboxAdditions, SandboxCustomizer } from '../extension-points/sandbox-customizer';
import type { LoadedFunction } from '../functions/function-config';

/**
 * The SandboxCustomizer every DiskQuota backend provides alongside it: each
 * new sandbox's scratch dir (/host) comes from its owner's quota. Remembers
 * the owner of live sandboxes only, so it holds nothing for idle functions.
 */
export class DiskQuotaCustomizer implements SandboxCustomizer {
  private readonly owners = new Map<string, string>();

  constructor(private readonly quota: DiskQuota) {}

  async prepare(fn: LoadedFunction, sandboxId: string): Promise<SandboxAdditions> {
    const owner = fn.config.owner;
    const scratchDir = await this.quota.scratchDir(owner, sandboxId);
    this.owners.set(sandboxId, owner);
    return { scratchDir };
  }

  async release(sandboxId: string): Promise<void> {
    const owner = this.owners.get(sandboxId);
    if (owner === undefined) return;
    this.owners.delete(sandboxId);
    await this.quota.releaseScratch(owner, sandboxId);
  }
}
