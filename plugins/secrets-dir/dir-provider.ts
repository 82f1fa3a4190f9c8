import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokens, checkSecretName, inject, injectable, type Logger, type SecretProvider } from '../../core';
import type { SecretsDirConfig } from './config';

/**
 * Read-only secrets from a mounted directory, in the layout Kubernetes uses
 * for secret volumes: `<dir>/<name>` is a symlink to `..data/<name>`, and
 * `..data` a symlink to a timestamped directory that the kubelet replaces
 * atomically on rotation. Every read opens the file again, so a rotation
 * takes effect on the next use; dot entries are never secrets.
 */
@injectable()
export class DirSecretProvider implements SecretProvider {
  readonly writable = false;
  private readonly dir?: string;

  constructor(
    @inject(Tokens.PluginConfig) private readonly config: SecretsDirConfig,
    @inject(Tokens.Logger) private readonly log: Logger,
  ) {
    this.dir = config.dir ? path.resolve(config.dir) : undefined;
  }

  async get(name: string): Promise<Buffer | null> {
    checkSecretName(name);
    if (!this.dir) return null;
    const file = path.join(this.dir, name);
    let real: string;
    try {
      real = await fs.promises.realpath(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new Error(`cannot read secret "${name}" from ${this.dir}: ${(e as NodeJS.ErrnoException).code}`);
    }
    // A link out of the mounted volume (to /etc/shadow, say) is not a secret of this directory.
    const root = await fs.promises.realpath(this.dir);
    if (!real.startsWith(root + path.sep)) throw new Error(`secret "${name}" in ${this.dir} points outside the directory; not reading it`);
    const value = await fs.promises.readFile(real).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw new Error(`cannot read secret "${name}" from ${this.dir}: ${e.code}`);
    });
    return value && this.config.trim_newline ? trimNewline(value) : value;
  }

  async list(): Promise<string[]> {
    if (!this.dir) return [];
    const entries = await fs.promises.readdir(this.dir).catch(() => [] as string[]);
    const names: string[] = [];
    for (const e of entries) {
      if (e.startsWith('.')) continue;
      const st = await fs.promises.stat(path.join(this.dir, e)).catch(() => null);
      if (st?.isFile()) names.push(e);
    }
    return names.sort();
  }

  /** The kubelet's `..data` swap (or any edit) shows up as events on the directory. */
  watch(onChange: () => void): () => void {
    if (!this.dir) return () => undefined;
    let watcher: fs.FSWatcher;
    try {
      watcher = fs.watch(this.dir, { persistent: false }, () => onChange());
    } catch (e) {
      this.log.warn({ dir: this.dir, err: (e as Error).message }, 'cannot watch the secrets directory; rotated values still reach the proxy, but instances holding env/file copies are not retired');
      return () => undefined;
    }
    watcher.on('error', () => watcher.close());
    return () => watcher.close();
  }
}

function trimNewline(b: Buffer): Buffer {
  let end = b.length;
  if (end && b[end - 1] === 0x0a) end--;
  if (end && b[end - 1] === 0x0d) end--;
  return b.subarray(0, end);
}
