import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/** A wheel built from an sdist. */
export interface BuiltWheel {
  filename: string;
  data: Buffer;
}

/**
 * Wheels built from sdists, one per `name==version` (`<dir>/<name>-<version>/`,
 * with the sha256 of the sdist it came from): resolving or reinstalling a
 * version builds it once, not once per resolution. A different sdist under
 * the same version (a re-upload) is built again.
 */
export class BuildCache {
  constructor(readonly dir: string) {}

  async get(key: string, sdistSha256: string): Promise<BuiltWheel | null> {
    const d = path.join(this.dir, key);
    try {
      if ((await fs.readFile(path.join(d, 'sdist.sha256'), 'utf8')).trim() !== sdistSha256) return null;
      const filename = (await fs.readdir(d)).find((f) => f.endsWith('.whl'));
      return filename ? { filename, data: await fs.readFile(path.join(d, filename)) } : null;
    } catch {
      return null;
    }
  }

  async put(key: string, sdistSha256: string, wheel: BuiltWheel): Promise<void> {
    const d = path.join(this.dir, key);
    await fs.rm(d, { recursive: true, force: true });
    await fs.mkdir(d, { recursive: true, mode: 0o700 });
    await fs.writeFile(path.join(d, wheel.filename), wheel.data, { mode: 0o600 });
    // Written last: a crash in between leaves an entry get() ignores.
    await fs.writeFile(path.join(d, 'sdist.sha256'), sdistSha256, { mode: 0o600 });
  }

  async remove(key: string): Promise<void> {
    await fs.rm(path.join(this.dir, key), { recursive: true, force: true });
  }
}
