import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokens, inject, injectable, type WorkerPaths } from '../../core';
import type { SecretGrantsConfig } from './config';

const TMPFS_MAGIC = 0x01021994;

/**
 * Per-sandbox directories on a tmpfs (values delivered as files never reach a
 * disk), under one root-only directory named after this worker:
 * `<run_dir>/ol-secrets-<scope>/<sandbox id>/` holds `egress.sock` and
 * `secrets/<name>`, and is mounted read-only into that sandbox only.
 */
@injectable()
export class RunDir {
  readonly base: string;
  private ready = false;

  constructor(
    @inject(Tokens.PluginConfig) private readonly config: SecretGrantsConfig,
    @inject(Tokens.WorkerPaths) paths: WorkerPaths,
  ) {
    this.base = path.join(config.run_dir, `ol-secrets-${paths.scope}`);
  }

  /** run_dir must be a tmpfs: file delivery promises the value is never written to a disk. Checked on first use, so a worker that never delivers a secret does not depend on it. */
  private checkTmpfs(): void {
    let type: number;
    try {
      type = fs.statfsSync(this.config.run_dir).type;
    } catch (e) {
      throw new Error(`secret-grants.run_dir ${this.config.run_dir} is not usable: ${(e as Error).message}; set it to a tmpfs, e.g. /dev/shm`);
    }
    if (type !== TMPFS_MAGIC) throw new Error(`secret-grants.run_dir ${this.config.run_dir} is not a tmpfs; set it to one (e.g. /dev/shm), so secret files never reach a disk`);
  }

  /** A fresh directory for one sandbox (created with the base on first use). */
  sandboxDir(id: string): string {
    this.ensureBase();
    const dir = path.join(this.base, id);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { mode: 0o755 });
    fs.chmodSync(dir, 0o755);
    return dir;
  }

  removeSandboxDir(id: string): void {
    fs.rmSync(path.join(this.base, id), { recursive: true, force: true });
  }

  /** Remove everything (at stop, and what a crashed worker left at start). */
  removeAll(): void {
    if (fs.existsSync(this.base)) this.checkOurs();
    fs.rmSync(this.base, { recursive: true, force: true });
    this.ready = false;
  }

  private ensureBase(): void {
    if (this.ready) return;
    this.checkTmpfs();
    try {
      fs.mkdirSync(this.base, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      this.checkOurs();
    }
    this.ready = true;
  }

  /** run_dir may be world-writable (/dev/shm): never use a directory someone else planted there. */
  private checkOurs(): void {
    const st = fs.lstatSync(this.base);
    if (!st.isDirectory() || st.uid !== process.getuid!() || (st.mode & 0o077) !== 0) {
      throw new Error(`${this.base} exists but is not a private directory of this worker's user; remove it (someone else may have created it)`);
    }
  }
}
