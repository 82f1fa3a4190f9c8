import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { inject, injectable, PluginError, Tokens, type DiskQuota, type Logger, type QuotaUsage, type WorkerPaths } from '../../core';
import { LOOPFS_DEFAULTS, type LoopfsConfig } from './config';
import { OwnerImage } from './owner-image';
import { runTool, E2FS_HINT } from './run-tool';

const KiB = 1024;
const MiB = 1024 * 1024;

/**
 * DiskQuota by one loop-mounted ext4 image per owner, under `<dir>`:
 * `img/<owner>.ext4` (sparse), mounted at `m/<owner>`, holding `s/<sandbox>`
 * (each sandbox's scratch) and `c/<function>` (the charged copy of each
 * uploaded function). Images are made when an owner first needs one,
 * remounted (and grown to the configured size) at start, unmounted and kept
 * at stop. Per-owner state, never per function.
 */
@injectable()
export class LoopfsQuota implements DiskQuota {
  private readonly cfg: LoopfsConfig;
  readonly dir: string;
  /** Opening (or opened) images by owner. */
  private readonly images = new Map<string, Promise<OwnerImage>>();

  constructor(
    @inject(Tokens.PluginConfig) config: Partial<LoopfsConfig>,
    @inject(Tokens.WorkerPaths) paths: WorkerPaths,
    @inject(Tokens.Logger) private readonly log: Logger,
  ) {
    this.cfg = { ...LOOPFS_DEFAULTS, ...config };
    this.dir = path.resolve(this.cfg.dir ?? path.join(paths.root, 'quota'));
  }

  /** Check the tools, then remount every image an earlier run made, growing those whose configured size went up. */
  async start(): Promise<void> {
    try {
      await runTool('mkfs.ext4', ['-V'], E2FS_HINT);
      await runTool('resize2fs', ['-h'], E2FS_HINT).catch((e: Error) => {
        if (/not installed/.test(e.message)) throw e; // -h prints usage and exits non-zero
      });
    } catch (e) {
      throw new PluginError('quota-loopfs', (e as Error).message);
    }
    await fs.mkdir(path.join(this.dir, 'img'), { recursive: true, mode: 0o700 });
    await fs.mkdir(path.join(this.dir, 'm'), { recursive: true, mode: 0o755 });
    const owners = (await fs.readdir(path.join(this.dir, 'img'))).filter((f) => f.endsWith('.ext4')).map((f) => f.slice(0, -'.ext4'.length));
    for (const owner of owners) {
      const img = await this.image(owner);
      const stale = await fs.readdir(path.join(img.mountPoint, 's'));
      await Promise.all(stale.map((s) => fs.rm(path.join(img.mountPoint, 's', s), { recursive: true, force: true })));
    }
    this.log.info({ dir: this.dir, remounted: owners.length }, 'loopfs disk quotas ready');
  }

  async stop(): Promise<void> {
    const opened = await Promise.allSettled([...this.images.values()]);
    this.images.clear();
    for (const r of opened) if (r.status === 'fulfilled') await r.value.close();
  }

  limitMb(owner: string): number {
    return this.cfg.owners[owner] ?? this.cfg.default_mb;
  }

  async scratchDir(owner: string, sandboxId: string): Promise<string> {
    const img = await this.image(owner);
    const dir = path.join(img.mountPoint, 's', sandboxId);
    await fs.mkdir(dir, { mode: 0o700 });
    return dir;
  }

  async releaseScratch(owner: string, sandboxId: string): Promise<void> {
    const img = await this.images.get(owner);
    if (img) await fs.rm(path.join(img.mountPoint, 's', sandboxId), { recursive: true, force: true });
  }

  async storeCode(owner: string, name: string, codeDir: string): Promise<void> {
    const img = await this.image(owner);
    await this.removeCode(name, owner);
    const target = path.join(img.mountPoint, 'c', name);
    const tmp = `${target}.new`;
    await fs.rm(tmp, { recursive: true, force: true });
    try {
      await fs.cp(codeDir, tmp, { recursive: true });
    } catch (e) {
      await fs.rm(tmp, { recursive: true, force: true });
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOSPC' && code !== 'EDQUOT') throw e;
      throw await this.overQuota(owner, name, codeDir, img);
    }
    await fs.rm(target, { recursive: true, force: true });
    await fs.rename(tmp, target);
  }

  /** Remove `name`'s charged code from every owner (but `keepOwner`, whose copy storeCode replaces). */
  async removeCode(name: string, keepOwner?: string): Promise<void> {
    for (const [owner, opening] of this.images) {
      if (owner === keepOwner) continue;
      const img = await opening.catch(() => null);
      if (img) await fs.rm(path.join(img.mountPoint, 'c', name), { recursive: true, force: true });
    }
  }

  async usage(): Promise<QuotaUsage[]> {
    const out: QuotaUsage[] = [];
    for (const [owner, opening] of this.images) {
      const img = await opening.catch(() => null);
      if (!img) continue;
      const { freeBytes, totalBytes } = await img.space();
      out.push({ owner, usedBytes: totalBytes - freeBytes, limitBytes: this.limitMb(owner) * MiB });
    }
    return out.sort((a, b) => a.owner.localeCompare(b.owner));
  }

  /** The owner's mounted image, made on first use. */
  private image(owner: string): Promise<OwnerImage> {
    let opening = this.images.get(owner);
    if (!opening) {
      const img = new OwnerImage(owner, this.dir, this.log);
      opening = img.open(this.limitMb(owner)).then(() => img);
      opening.catch(() => this.images.delete(owner));
      this.images.set(owner, opening);
    }
    return opening;
  }

  private async overQuota(owner: string, name: string, codeDir: string, img: OwnerImage): Promise<Error> {
    const need = await treeBytes(codeDir);
    const { freeBytes } = await img.space();
    const err = new Error(
      `owner "${owner}" is over its disk quota of ${this.limitMb(owner)} MiB: function "${name}" needs ${Math.ceil(need / KiB)} KiB of code but only ${Math.floor(freeBytes / KiB)} KiB are free (its other functions' code and its running instances' scratch space count too); remove some of its functions, or ask the operator to raise quota-loopfs.owners.${owner}`,
    ) as Error & { status: number };
    err.status = 413;
    return err;
  }
}

async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? await treeBytes(p) : (await fs.lstat(p)).size;
  }
  return total;
}
