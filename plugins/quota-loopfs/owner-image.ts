import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Logger } from '../../core';
import { mountedAt } from './mounts';
import { E2FS_HINT, runTool } from './run-tool';

const MiB = 1024 * 1024;

/**
 * One owner's ext4 image file and its loop mount. The image is sparse: it
 * takes disk space only as the owner writes. The file system's size is the
 * owner's limit: a write past it fails with ENOSPC in the writer.
 */
export class OwnerImage {
  readonly image: string;
  readonly mountPoint: string;

  constructor(
    readonly owner: string,
    dir: string,
    private readonly log: Logger,
  ) {
    this.image = path.join(dir, 'img', `${owner}.ext4`);
    this.mountPoint = path.join(dir, 'm', owner);
  }

  /** Create the image if it is missing, grow it to `sizeMb` if it is smaller, and mount it if it is not. */
  async open(sizeMb: number): Promise<void> {
    if (!(await exists(this.image))) await this.create(sizeMb);
    else await this.grow(sizeMb);
    await fs.mkdir(this.mountPoint, { recursive: true, mode: 0o755 });
    if (!(await mountedAt(this.mountPoint))) {
      await runTool('mount', ['-o', 'loop,nosuid,nodev', this.image, this.mountPoint], 'install mount (util-linux)');
    }
    for (const [sub, mode] of [['s', 0o711], ['c', 0o755]] as const) await fs.mkdir(path.join(this.mountPoint, sub), { recursive: true, mode });
  }

  /** Unmount, keeping the image for the next start. */
  async close(): Promise<void> {
    if (!(await mountedAt(this.mountPoint))) return;
    try {
      await runTool('umount', [this.mountPoint], 'install umount (util-linux)');
    } catch (e) {
      // Something still holds a file there (a process we do not own): detach it lazily rather than leave the worker stuck.
      this.log.warn({ owner: this.owner, err: (e as Error).message }, 'owner image busy at shutdown; detaching it lazily');
      await runTool('umount', ['-l', this.mountPoint], 'install umount (util-linux)');
    }
  }

  async sizeMb(): Promise<number> {
    return Math.floor((await fs.stat(this.image)).size / MiB);
  }

  /** Free and total bytes of the mounted file system. */
  async space(): Promise<{ freeBytes: number; totalBytes: number }> {
    const s = await fs.statfs(this.mountPoint);
    return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  }

  private async create(sizeMb: number): Promise<void> {
    await fs.mkdir(path.dirname(this.image), { recursive: true, mode: 0o700 });
    const tmp = `${this.image}.new`;
    const fh = await fs.open(tmp, 'w', 0o600);
    try {
      await fh.truncate(sizeMb * MiB);
    } finally {
      await fh.close();
    }
    // No reserved blocks (the owner gets the whole size); inode tables written now, so no background writes after mount.
    await runTool('mkfs.ext4', ['-q', '-F', '-m', '0', '-E', 'lazy_itable_init=0,lazy_journal_init=0', '-L', `ol-${this.owner}`.slice(0, 16), tmp], E2FS_HINT);
    await fs.rename(tmp, this.image);
    this.log.info({ owner: this.owner, sizeMb, image: this.image }, 'created owner disk image');
  }

  /**
   * Offline grow, before mounting: enlarge the file, check, resize2fs the
   * image. (Online growing needs CAP_SYS_RESOURCE, which a worker in a
   * container may lack; the image is unmounted at every stop anyway.)
   */
  private async grow(sizeMb: number): Promise<void> {
    const current = await this.sizeMb();
    if (current === sizeMb) return;
    if (current > sizeMb) {
      this.log.warn({ owner: this.owner, imageMb: current, configuredMb: sizeMb }, 'owner image is larger than configured; shrinking is not supported, it keeps its size');
      return;
    }
    if (await mountedAt(this.mountPoint)) await this.close(); // left mounted by a worker that died
    await fs.truncate(this.image, sizeMb * MiB);
    // resize2fs wants a freshly checked file system; e2fsck exits 1 when it fixed something.
    await runTool('e2fsck', ['-f', '-p', this.image], E2FS_HINT, [0, 1]);
    await runTool('resize2fs', [this.image], E2FS_HINT);
    this.log.info({ owner: this.owner, fromMb: current, toMb: sizeMb }, 'grew owner disk image');
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}
