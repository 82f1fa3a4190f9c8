import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';

/**
 * A content-derived version of a function directory, from metadata only:
 * sha256 over every entry's relative path, type, size, mtime and ctime (ns)
 * and inode number, walked in sorted order without following symlinks.
 *
 * Why metadata is enough: every way of changing a file's content through the
 * file system (write, truncate, replace by rename, copy over it) updates its
 * ctime, which unlike mtime cannot be set back by `touch -r`, `cp -p`,
 * `rsync -t` or tar's mtime restore; replacing a file also gives it a new
 * inode; adding, removing or renaming anything changes the path list. Uploads
 * always arrive as a freshly extracted directory, so every install yields a
 * new version even for identical bytes (a spurious change only retires warm
 * instances once). The one blind spot is the one make and rsync's quick check
 * share: rewriting a file in place to the same size within one timestamp
 * tick of the previous write (a few ms on Linux). Reading file contents
 * instead would make every request cost as much as the function's size.
 *
 * Not cached here (lookup-cache.ts bounds how often it runs): a cache keyed on the directory's own stat would be wrong (editing
 * a file does not touch its directory), and one keyed on every file's stat
 * costs the same syscalls as this walk, which is one readdir per directory and
 * one lstat per entry.
 */
export async function dirVersion(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const line of await describeTree(dir, '')) hash.update(line);
  return hash.digest('hex').slice(0, 20);
}

async function describeTree(dir: string, rel: string): Promise<string[]> {
  const names = (await fs.readdir(dir)).sort(byCodeUnit);
  const parts = await Promise.all(
    names.map(async (name) => {
      const abs = path.join(dir, name);
      const relName = rel ? `${rel}/${name}` : name;
      const st = await fs.lstat(abs, { bigint: true });
      const kind = st.isDirectory() ? 'd' : st.isFile() ? 'f' : st.isSymbolicLink() ? 'l' : 'o';
      // A directory's own times change whenever its entries do, which the
      // entries below already show; its path alone records that it exists.
      const line = kind === 'd' ? `${relName}\0d\n` : `${relName}\0${kind}\0${st.size}\0${st.mtimeNs}\0${st.ctimeNs}\0${st.ino}\n`;
      return kind === 'd' ? [line, ...(await describeTree(abs, relName))] : [line];
    }),
  );
  return parts.flat();
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
