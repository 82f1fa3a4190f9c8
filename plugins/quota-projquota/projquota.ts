import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { inject, injectable, PluginError, Tokens, type DiskQuota, type Logger, type QuotaUsage, type WorkerPaths } from '../../core';
import { PROJQUOTA_DEFAULTS, type ProjquotaConfig } from './config';
import { noQuotaSupport } from './kernel-support';
import { isMountPoint, mountFor, type MountEntry } from './mounts';
import { E2FS_HINT, QUOTA_HINT, runTool } from './run-tool';

const KiB = 1024;
const MiB = 1024 * 1024;

/**
 * DiskQuota by the kernel's project quotas (ext4 `prjquota`, xfs `pquota`):
 * each owner gets a directory `<dir>/<owner>` tagged with its own project id
 * (inherited by everything created below it) and a hard block limit set with
 * setquota. Scratch dirs are `<owner>/s/<sandbox>`, charged code `<owner>/c/<name>`.
 * The worker runs as root, which the kernel lets past quota limits, so code
 * uploads are checked against the owner's free space (statfs on a project
 * directory reports the project's limit and use) before they are copied.
 */
@injectable()
export class ProjquotaQuota implements DiskQuota {
  private readonly cfg: ProjquotaConfig;
  readonly dir: string;
  private mount?: MountEntry;
  private projects: Record<string, number> = {};
  private readonly ready = new Map<string, Promise<string>>();

  constructor(
    @inject(Tokens.PluginConfig) config: Partial<ProjquotaConfig>,
    @inject(Tokens.WorkerPaths) paths: WorkerPaths,
    @inject(Tokens.Logger) private readonly log: Logger,
  ) {
    this.cfg = { ...PROJQUOTA_DEFAULTS, ...config };
    this.dir = path.resolve(this.cfg.dir ?? path.join(paths.root, 'quota'));
  }

  async start(): Promise<void> {
    try {
      await fs.mkdir(this.dir, { recursive: true, mode: 0o755 });
      if (this.cfg.image_mb) await this.mountImage(this.cfg.image_mb);
      this.mount = await mountFor(this.dir);
      this.checkEnforced(this.mount);
      await runTool('setquota', ['-V'], QUOTA_HINT);
    } catch (e) {
      throw e instanceof PluginError ? e : new PluginError('quota-projquota', (e as Error).message);
    }
    this.projects = await readJson(this.projectsFile());
    for (const owner of Object.keys(this.projects)) {
      await this.ownerDir(owner);
      const stale = await fs.readdir(path.join(this.dir, owner, 's')).catch(() => []);
      await Promise.all(stale.map((s) => fs.rm(path.join(this.dir, owner, 's', s), { recursive: true, force: true })));
    }
    this.log.info({ dir: this.dir, fs: this.mount.fsType, owners: Object.keys(this.projects).length }, 'project disk quotas ready');
  }

  async stop(): Promise<void> {
    this.ready.clear();
    if (this.cfg.image_mb && (await isMountPoint(this.dir))) await runTool('umount', [this.dir], 'install umount (util-linux)');
  }

  limitMb(owner: string): number {
    return this.cfg.owners[owner] ?? this.cfg.default_mb;
  }

  async scratchDir(owner: string, sandboxId: string): Promise<string> {
    const dir = path.join(await this.ownerDir(owner), 's', sandboxId);
    await fs.mkdir(dir, { mode: 0o700 });
    return dir;
  }

  async releaseScratch(owner: string, sandboxId: string): Promise<void> {
    await fs.rm(path.join(this.dir, owner, 's', sandboxId), { recursive: true, force: true });
  }

  async storeCode(owner: string, name: string, codeDir: string): Promise<void> {
    const home = await this.ownerDir(owner);
    await this.removeCode(name);
    const need = await treeBytes(codeDir);
    const free = await freeBytes(home);
    if (need > free) {
      const err = new Error(
        `owner "${owner}" is over its disk quota of ${this.limitMb(owner)} MiB: function "${name}" needs ${Math.ceil(need / KiB)} KiB of code but only ${Math.floor(free / KiB)} KiB are free (its other functions' code and its running instances' scratch space count too); remove some of its functions, or ask the operator to raise quota-projquota.owners.${owner}`,
      ) as Error & { status: number };
      err.status = 413;
      throw err;
    }
    await fs.cp(codeDir, path.join(home, 'c', name), { recursive: true });
  }

  async removeCode(name: string): Promise<void> {
    for (const owner of Object.keys(this.projects)) await fs.rm(path.join(this.dir, owner, 'c', name), { recursive: true, force: true });
  }

  async usage(): Promise<QuotaUsage[]> {
    const out: QuotaUsage[] = [];
    for (const owner of Object.keys(this.projects).sort()) {
      const s = await fs.statfs(path.join(this.dir, owner));
      out.push({ owner, usedBytes: (s.blocks - s.bfree) * s.bsize, limitBytes: this.limitMb(owner) * MiB });
    }
    return out;
  }

  /** `<dir>/<owner>` with its project id and limit set; once per owner per run. */
  private ownerDir(owner: string): Promise<string> {
    let p = this.ready.get(owner);
    if (!p) {
      p = this.prepareOwner(owner);
      p.catch(() => this.ready.delete(owner));
      this.ready.set(owner, p);
    }
    return p;
  }

  private async prepareOwner(owner: string): Promise<string> {
    const home = path.join(this.dir, owner);
    const id = await this.projectId(owner);
    await fs.mkdir(home, { recursive: true, mode: 0o755 });
    // +P: everything created below inherits the project id, so the owner's files count against it.
    await runTool('chattr', ['+P', '-p', String(id), home], E2FS_HINT);
    for (const [sub, mode] of [['s', 0o711], ['c', 0o755]] as const) {
      await fs.mkdir(path.join(home, sub), { recursive: true, mode });
      await runTool('chattr', ['+P', '-p', String(id), path.join(home, sub)], E2FS_HINT);
    }
    const kib = String(this.limitMb(owner) * 1024);
    await runTool('setquota', ['-P', String(id), kib, kib, '0', '0', this.mount!.mountPoint], QUOTA_HINT);
    return home;
  }

  private async projectId(owner: string): Promise<number> {
    if (this.projects[owner] !== undefined) return this.projects[owner];
    const used = Object.values(this.projects);
    const id = used.length ? Math.max(...used) + 1 : this.cfg.first_project_id;
    this.projects[owner] = id;
    const file = this.projectsFile();
    await fs.writeFile(`${file}.tmp`, JSON.stringify(this.projects, null, 1));
    await fs.rename(`${file}.tmp`, file);
    return id;
  }

  private projectsFile(): string {
    return path.join(this.dir, '.projects.json');
  }

  private async mountImage(sizeMb: number): Promise<void> {
    if (await isMountPoint(this.dir)) return;
    const image = `${this.dir}.img`;
    if (!(await fs.access(image).then(() => true, () => false))) {
      const fh = await fs.open(`${image}.new`, 'w', 0o600);
      await fh.truncate(sizeMb * MiB).finally(() => fh.close());
      await runTool('mkfs.ext4', ['-q', '-F', '-m', '0', '-O', 'quota,project', '-E', 'lazy_itable_init=0,lazy_journal_init=0', `${image}.new`], E2FS_HINT);
      await fs.rename(`${image}.new`, image);
    }
    try {
      await runTool('mount', ['-o', 'loop,nosuid,nodev,prjquota', image, this.dir], 'install mount (util-linux)');
    } catch (e) {
      throw new PluginError('quota-projquota', noQuotaSupport(`mounting the ext4 image ${image} with -o prjquota failed (${(e as Error).message.trim()})`));
    }
  }

  private checkEnforced(m: MountEntry): void {
    const ok = (m.fsType === 'ext4' && m.options.includes('prjquota')) || (m.fsType === 'xfs' && m.options.some((o) => o === 'prjquota' || o === 'pquota'));
    if (ok) return;
    throw new PluginError(
      'quota-projquota',
      noQuotaSupport(`${this.dir} is on ${m.fsType} at ${m.mountPoint}, which is not mounted with project quotas (prjquota)`),
      'mount an ext4 file system (made with -O quota,project) or xfs with -o prjquota there, or set quota-projquota.image_mb',
    );
  }
}

async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? await treeBytes(p) : Math.ceil((await fs.lstat(p)).size / 4096) * 4096;
  }
  return total;
}

/** statfs on a project-inheriting directory reports that project's limit and use. */
async function freeBytes(dir: string): Promise<number> {
  const s = await fs.statfs(dir);
  return s.bavail * s.bsize;
}

async function readJson(file: string): Promise<Record<string, number>> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
}
