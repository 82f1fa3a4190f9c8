import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Open cgroup files, re-read with pread at offset 0. The kernel regenerates a
 * cgroup file's content on every read from offset 0, so one open fd serves
 * every later read: one syscall per read instead of four (open, fstat, read,
 * close), and the worker reads a dozen cgroup files per request.
 *
 * Bounded (least recently used closed first) and emptied per cgroup by
 * forget() before the cgroup is removed; a read that fails on a cached fd
 * (a cgroup removed and made again under the same name) is retried once on
 * a fresh one.
 */
export class CgroupFileCache {
  private readonly fds = new Map<string, number>();
  private readonly buf = Buffer.allocUnsafe(16 * 1024);

  constructor(private readonly maxOpen = 2048) {}

  /** The file's content; throws the errno error of open or read (ENOENT when the file does not exist). */
  read(file: string): string {
    const cached = this.fds.get(file);
    if (cached !== undefined) {
      try {
        return this.readAll(cached, file);
      } catch {
        this.close(file);
      }
    }
    return this.readAll(this.open(file), file);
  }

  /** Closes the fds of every file under `dir` (before the cgroup is removed). */
  forget(dir: string): void {
    const prefix = dir.endsWith('/') ? dir : `${dir}/`;
    for (const file of this.fds.keys()) if (file.startsWith(prefix)) this.close(file);
  }

  get openCount(): number {
    return this.fds.size;
  }

  private open(file: string): number {
    const fd = openSync(file, 'r');
    this.fds.set(file, fd);
    if (this.fds.size > this.maxOpen) {
      const [oldest] = this.fds.keys();
      this.close(oldest);
    }
    return fd;
  }

  private readAll(fd: number, file: string): string {
    let text = '';
    for (let pos = 0; ; ) {
      const n = readSync(fd, this.buf, 0, this.buf.length, pos);
      text += this.buf.toString('utf8', 0, n);
      if (n < this.buf.length) break;
      pos += n;
    }
    // Most recently used last, so that the bound closes the coldest file.
    this.fds.delete(file);
    this.fds.set(file, fd);
    return text;
  }

  private close(file: string): void {
    const fd = this.fds.get(file);
    this.fds.delete(file);
    if (fd !== undefined) closeSync(fd);
  }
}
