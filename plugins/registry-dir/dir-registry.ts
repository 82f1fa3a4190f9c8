import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { inject, injectable, Tokens } from '../../core';
import type { FunctionRegistry, FunctionSource, Logger, UploadInfo, WorkerPaths } from '../../core';
import { withDefaults, type RegistryDirConfig } from './config';
import { dirVersion } from './dir-version';
import type { ArchiveLimits } from './entry-policy';
import { extractArchive } from './extract-archive';
import { isFunctionDir } from './function-dir';
import { checkName, isValidName } from './function-name';
import { KeyedLock } from './keyed-lock';
import { LookupCache } from './lookup-cache';
import { RegistryError } from './registry-error';
import { makeScratchDir, moveAway, swapInto, sweepScratch } from './upload-dir';
import { readUploadInfo, writeUploadInfo } from './upload-info';

/** How often lookup looks again when installs of the same name keep swapping under it. */
const LOOKUP_ATTEMPTS = 5;

/**
 * Functions as directories: `<upload_dir>/<name>` (uploads, writable) first,
 * then `<dir>/<name>` for each read-only `dirs` entry in order. One registry
 * per upload_dir per process: installs and removals of a name are serialised
 * here, and concurrent writers in other processes are made safe by
 * rename-based swaps (see upload-dir.ts).
 */
@injectable()
export class DirRegistry implements FunctionRegistry {
  readonly writable = true;
  private readonly uploadDir: string;
  private readonly dirs: string[];
  private readonly limits: ArchiveLimits;
  private readonly lock = new KeyedLock();
  /** Names whose code is between "old renamed away" and "new renamed in". */
  private readonly swapping = new Map<string, Promise<void>>();
  /** Bumped when any swap starts or ends. */
  private swapEpoch = 0;
  private prepared?: Promise<void>;
  private readonly recent: LookupCache<FunctionSource | null>;

  constructor(
    @inject(Tokens.PluginConfig) config: Partial<RegistryDirConfig>,
    @inject(Tokens.WorkerPaths) paths: WorkerPaths,
    @inject(Tokens.Logger) private readonly log: Logger,
  ) {
    const c = withDefaults(config ?? {});
    this.uploadDir = path.resolve(c.upload_dir ?? paths.registry);
    this.dirs = c.dirs.map((d) => path.resolve(d));
    this.recent = new LookupCache(c.revalidate_ms);
    this.limits = { maxArchiveBytes: c.max_archive_bytes, maxUnpackedBytes: c.max_unpacked_bytes, maxFiles: c.max_files };
  }

  /** Forget the remembered lookups (and stop their expiry timer). */
  stop(): void {
    this.recent.clear();
  }

  /** Creates upload_dir, sweeps what a crashed worker left there, warns about missing dirs. Runs once. */
  start(): Promise<void> {
    return (this.prepared ??= this.prepare());
  }

  async lookup(name: string): Promise<FunctionSource | null> {
    if (!isValidName(name)) return null;
    const cached = this.recent.get(name);
    if (cached !== undefined) return cached;
    let found: FunctionSource | null = null;
    for (let attempt = 1; attempt <= LOOKUP_ATTEMPTS; attempt++) {
      await this.swapping.get(name);
      const epoch = this.swapEpoch;
      try {
        found = await this.find(name);
      } catch (e) {
        // The directory was swapped or removed while we walked it: look again.
        if (!isGone(e) || attempt === LOOKUP_ATTEMPTS) throw e;
        continue;
      }
      // A swap that overlapped the search may have hidden the upload from it
      // (and shown a read-only function of the same name instead).
      if (this.swapEpoch === epoch) {
        this.recent.set(name, found);
        break;
      }
    }
    return found;
  }

  async list(): Promise<string[]> {
    const names = new Set<string>();
    for (const root of this.roots()) {
      const entries = await fs.readdir(root).catch((e) => {
        if (isGone(e)) return [] as string[];
        throw e;
      });
      const found = await Promise.all(entries.filter(isValidName).map(async (n) => ((await isFunctionDir(path.join(root, n))) ? n : null)));
      for (const n of found) if (n) names.add(n);
    }
    return [...names].sort();
  }

  async install(name: string, archive: Buffer, upload: UploadInfo = {}): Promise<FunctionSource> {
    checkName(name);
    await this.start();
    return this.lock.run(name, async () => {
      const scratch = await makeScratchDir(this.uploadDir, name);
      try {
        const root = await extractArchive(archive, scratch, this.limits);
        await writeUploadInfo(root, upload);
        const codeDir = path.join(this.uploadDir, name);
        // Taken before the swap (renaming the directory leaves its entries' stats
        // alone), so it describes what we installed even if another writer
        // replaces it right after.
        const version = await dirVersion(root);
        const swap = swapInto(root, codeDir, this.uploadDir, name);
        this.swapping.set(name, swap.catch(() => undefined));
        this.swapEpoch++;
        try {
          await swap;
        } finally {
          this.swapping.delete(name);
          this.recent.delete(name);
          this.swapEpoch++;
        }
        const source: FunctionSource = upload.owner === undefined ? { name, version, codeDir } : { name, version, codeDir, owner: upload.owner };
        this.log.info({ function: name, version: source.version, owner: upload.owner, bytes: archive.length }, 'function installed');
        return source;
      } catch (e) {
        if (e instanceof RegistryError) this.log.warn({ function: name, err: e.message }, 'upload refused');
        throw e;
      } finally {
        await fs.rm(scratch, { recursive: true, force: true });
      }
    });
  }

  async remove(name: string): Promise<boolean> {
    checkName(name);
    await this.start();
    return this.lock.run(name, async () => {
      const away = await moveAway(path.join(this.uploadDir, name), this.uploadDir, name);
      this.recent.delete(name);
      this.swapEpoch++;
      if (away) {
        await fs.rm(away, { recursive: true, force: true });
        this.log.info({ function: name }, 'function removed');
        return true;
      }
      const home = await this.readOnlyHome(name);
      if (home) {
        throw new RegistryError(
          `function "${name}" comes from the read-only directory ${home}; the worker cannot remove it: delete it there, or upload a replacement, which takes precedence`,
          409,
        );
      }
      return false;
    });
  }

  private roots(): string[] {
    return [this.uploadDir, ...this.dirs];
  }

  private async find(name: string): Promise<FunctionSource | null> {
    for (const root of this.roots()) {
      const codeDir = path.join(root, name);
      if (!(await isFunctionDir(codeDir))) continue;
      const version = await dirVersion(codeDir);
      // Read on each walk, which lookup's cache keeps to one per revalidate_ms.
      const owner = root === this.uploadDir ? (await readUploadInfo(codeDir)).owner : undefined;
      return owner === undefined ? { name, version, codeDir } : { name, version, codeDir, owner };
    }
    return null;
  }

  private async readOnlyHome(name: string): Promise<string | null> {
    for (const dir of this.dirs) {
      if (await isFunctionDir(path.join(dir, name))) return dir;
    }
    return null;
  }

  private async prepare(): Promise<void> {
    await fs.mkdir(this.uploadDir, { recursive: true, mode: 0o755 });
    const swept = await sweepScratch(this.uploadDir);
    if (swept.length) this.log.info({ dir: this.uploadDir, swept }, 'removed leftovers of interrupted installs');
    for (const dir of this.dirs) {
      const st = await fs.stat(dir).catch(() => null);
      if (!st?.isDirectory()) this.log.warn({ dir }, 'function directory listed in registry-dir.dirs does not exist; it is skipped until it does');
    }
  }
}

function isGone(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
