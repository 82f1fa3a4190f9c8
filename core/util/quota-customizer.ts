import { execFile } from 'node:child_process';
import type { DiskQuota } from '../extension-points/disk-quota';
import type { SandboxAdditions, SandboxCustomizer } from '../extension-points/sandbox-customizer';
import type { LoadedFunction } from '../functions/function-config';

/** A sandbox's scratch as the customizer made it. */
interface Scratch {
  owner: string;
  dir: string;
  tmpfs: boolean;
}

/**
 * The SandboxCustomizer every DiskQuota backend provides alongside it: each
 * new sandbox's scratch dir (/host) comes from its owner's quota, or, for a
 * function whose ol.yaml sets `scratch.tmpfs_mb`, is a tmpfs of that size
 * mounted over that dir (its pages are charged to the sandbox's memory
 * cgroup, the writer's). Remembers live sandboxes only, so it holds nothing
 * for idle functions.
 */
export class DiskQuotaCustomizer implements SandboxCustomizer {
  private readonly live = new Map<string, Scratch>();

  constructor(private readonly quota: DiskQuota) {}

  async prepare(fn: LoadedFunction, sandboxId: string): Promise<SandboxAdditions> {
    const owner = fn.config.owner;
    const dir = await this.quota.scratchDir(owner, sandboxId);
    const tmpfsMb = fn.config.scratchTmpfsMb;
    if (tmpfsMb) {
      try {
        await run('mount', ['-t', 'tmpfs', '-o', `size=${tmpfsMb}m,mode=0700,nosuid,nodev`, 'ol-scratch', dir]);
      } catch (e) {
        await this.quota.releaseScratch(owner, sandboxId);
        throw new Error(`function ${fn.name}: cannot mount its ${tmpfsMb} MiB tmpfs scratch dir: ${(e as Error).message}`);
      }
    }
    this.live.set(sandboxId, { owner, dir, tmpfs: Boolean(tmpfsMb) });
    return { scratchDir: dir };
  }

  async release(sandboxId: string): Promise<void> {
    const s = this.live.get(sandboxId);
    if (!s) return;
    this.live.delete(sandboxId);
    if (s.tmpfs) await run('umount', [s.dir]);
    await this.quota.releaseScratch(s.owner, sandboxId);
  }
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, (err, _out, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${String(stderr).trim() || err.message}`)) : resolve()));
  });
}
