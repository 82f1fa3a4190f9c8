import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { SingleFlight, type Logger } from '../../core';
import { BuildCache } from './build-cache';
import { parseMetadata, type CoreMetadata } from './wheel-metadata';
import { installWheel } from './wheel-install';

interface Entry {
  bytes: number;
  lastUsed: number;
}

export interface StoreUsage {
  dir: string;
  budget_bytes: number;
  used_bytes: number;
  packages: { name: string; version: string; bytes: number; last_used: string; in_use: boolean }[];
}

/**
 * Installed packages, one directory per `name==version` (several versions
 * side by side), shared by every function. Installs of one version are
 * deduplicated while in flight; past the disk budget the least recently used
 * versions that no loaded function and no live sandbox needs are removed.
 */
export class PackageStore {
  private readonly entries = new Map<string, Entry>();
  private readonly installing = new SingleFlight<string, string>();
  /** Versions each loaded function needs (its latest resolution). */
  private readonly byFunction = new Map<string, Set<string>>();
  /** Versions each live sandbox has mounted. */
  private readonly bySandbox = new Map<string, Set<string>>();
  private ready?: Promise<void>;
  /** Wheels built from sdists (`.built/`), removed with their version. */
  readonly builtWheels: BuildCache;

  constructor(
    readonly dir: string,
    private readonly budgetBytes: number,
    private readonly log: Logger,
  ) {
    this.builtWheels = new BuildCache(path.join(dir, '.built'));
  }

  static key(name: string, version: string): string {
    return `${name}-${version}`;
  }

  dirOf(name: string, version: string): string {
    return path.join(this.dir, PackageStore.key(name, version));
  }

  /** Read what an earlier worker installed; drop half-finished installs. */
  init(): Promise<void> {
    this.ready ??= this.scan();
    return this.ready;
  }

  /** Install once: concurrent callers for the same version share one install. */
  async ensure(name: string, version: string, wheel: () => Promise<{ data: Buffer; filename: string }>): Promise<string> {
    await this.init();
    const key = PackageStore.key(name, version);
    if (this.entries.has(key)) {
      this.touch(key);
      return this.dirOf(name, version);
    }
    return this.installing.run(key, () => this.install(key, wheel));
  }

  has(name: string, version: string): boolean {
    return this.entries.has(PackageStore.key(name, version));
  }

  /** The installed METADATA, so re-resolving a known graph downloads nothing. */
  async metadata(name: string, version: string): Promise<CoreMetadata | null> {
    await this.init();
    if (!this.entries.has(PackageStore.key(name, version))) return null;
    const dir = this.dirOf(name, version);
    try {
      const info = (await fs.readdir(dir)).find((d) => d.endsWith('.dist-info'));
      return info ? parseMetadata(await fs.readFile(path.join(dir, info, 'METADATA'), 'utf8')) : null;
    } catch {
      return null;
    }
  }

  useByFunction(fn: string, keys: string[]): void {
    this.byFunction.set(fn, new Set(keys));
    for (const k of keys) this.touch(k);
  }

  forgetFunction(fn: string): void {
    this.byFunction.delete(fn);
  }

  acquire(sandboxId: string, keys: string[]): void {
    this.bySandbox.set(sandboxId, new Set(keys));
    for (const k of keys) this.touch(k);
  }

  release(sandboxId: string): void {
    this.bySandbox.delete(sandboxId);
  }

  usage(): StoreUsage {
    const inUse = this.inUse();
    const packages = [...this.entries.entries()]
      .map(([key, e]) => {
        const i = key.lastIndexOf('-');
        return { name: key.slice(0, i), version: key.slice(i + 1), bytes: e.bytes, last_used: new Date(e.lastUsed).toISOString(), in_use: inUse.has(key) };
      })
      .sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
    return { dir: this.dir, budget_bytes: this.budgetBytes, used_bytes: this.usedBytes(), packages };
  }

  /** Remove least recently used versions nobody needs until the store fits its budget. */
  async evict(): Promise<string[]> {
    const removed: string[] = [];
    const inUse = this.inUse();
    const lru = [...this.entries.entries()].filter(([k]) => !inUse.has(k) && !this.installing.has(k)).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [key] of lru) {
      if (this.usedBytes() <= this.budgetBytes) break;
      this.entries.delete(key);
      await fs.rm(path.join(this.dir, key), { recursive: true, force: true });
      await this.builtWheels.remove(key);
      removed.push(key);
    }
    if (removed.length) this.log.info({ removed, used_bytes: this.usedBytes(), budget_bytes: this.budgetBytes }, 'evicted packages from the store');
    if (this.usedBytes() > this.budgetBytes) {
      this.log.warn({ used_bytes: this.usedBytes(), budget_bytes: this.budgetBytes }, 'the package store is over its budget, but every package in it is in use; raise pypi.store_budget_mb');
    }
    return removed;
  }

  private async install(key: string, wheel: () => Promise<{ data: Buffer; filename: string }>): Promise<string> {
    const { data, filename } = await wheel();
    // Unpack beside the final place and rename: a crash never leaves a half-installed version under its real name.
    const tmp = path.join(this.dir, `.tmp-${randomBytes(6).toString('hex')}`);
    const bytes = await installWheel(data, filename, tmp);
    const final = path.join(this.dir, key);
    await fs.rm(final, { recursive: true, force: true });
    await fs.rename(tmp, final);
    this.entries.set(key, { bytes, lastUsed: Date.now() });
    this.log.info({ package: key, bytes }, 'package installed');
    return final;
  }

  /** Mark a version used; the directory's mtime carries it across restarts (written at most once a minute). */
  private touch(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    const now = Date.now();
    if (now - e.lastUsed > 60_000) void fs.utimes(path.join(this.dir, key), now / 1000, now / 1000).catch(() => undefined);
    e.lastUsed = now;
  }

  private inUse(): Set<string> {
    return new Set([...this.byFunction.values(), ...this.bySandbox.values()].flatMap((s) => [...s]));
  }

  private usedBytes(): number {
    let sum = 0;
    for (const e of this.entries.values()) sum += e.bytes;
    return sum;
  }

  private async scan(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o755 });
    for (const name of await fs.readdir(this.dir)) {
      const full = path.join(this.dir, name);
      // Half-finished installs and sdist build dirs of a crashed worker go; the build cache stays.
      if (name.startsWith('.tmp-') || name === '.builds') {
        await fs.rm(full, { recursive: true, force: true });
        continue;
      }
      if (name.startsWith('.')) continue;
      const stat = await fs.stat(full);
      this.entries.set(name, { bytes: await treeBytes(full), lastUsed: stat.mtimeMs });
    }
  }
}

async function treeBytes(dir: string): Promise<number> {
  let sum = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sum += await treeBytes(p);
    else if (e.isFile()) sum += (await fs.stat(p)).size;
  }
  return sum;
}
