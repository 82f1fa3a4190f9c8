import * as fs from 'node:fs';
import * as path from 'node:path';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { PackageError } from './package-error';
import { eachZipEntry, traversalEntry } from './zip-reader';

/** Entry types an sdist may hold: files and directories, nothing that points elsewhere. */
const TAR_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);
/** Tar headers and padding on top of the file bytes, when capping decompression. */
const TAR_OVERHEAD = 64 * 1024 * 1024;

/**
 * Unpack an sdist (.tar.gz or .zip) into the empty directory `dest` without
 * running anything: regular files and directories only (links, devices and
 * FIFOs are refused), no absolute or `..` names, at most `maxBytes` of
 * content, no file written twice. Returns the source tree's root: the
 * archive's single top-level directory (`name-version/`), or `dest`.
 */
export async function unpackSdist(data: Buffer, filename: string, dest: string, maxBytes: number): Promise<string> {
  const writer = new TreeWriter(dest, filename, maxBytes);
  if (/\.zip$/i.test(filename)) await unpackZip(data, filename, writer);
  else if (/\.(tar\.gz|tgz)$/i.test(filename)) await unpackTarGz(data, filename, writer, maxBytes + TAR_OVERHEAD);
  else throw new PackageError(`cannot build ${filename}: only .tar.gz and .zip sdists are supported`, 'pin a version that publishes a wheel or a .tar.gz sdist');
  const tops = fs.readdirSync(dest, { withFileTypes: true });
  return tops.length === 1 && tops[0].isDirectory() ? path.join(dest, tops[0].name) : dest;
}

/** Writes checked entries below `dest`, tallying bytes. */
class TreeWriter {
  private bytes = 0;

  constructor(
    private readonly dest: string,
    private readonly filename: string,
    private readonly maxBytes: number,
  ) {}

  /** The host path for an entry, after the traversal checks. */
  place(name: string): string | null {
    if (name.startsWith('/') || name.includes('\\') || name.includes('\0')) throw this.unsafe(name, 'has an absolute path, a backslash or a NUL');
    const parts = name.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) throw this.unsafe(name, 'points outside the source directory');
    return parts.length ? path.join(this.dest, ...parts) : null;
  }

  directory(name: string): void {
    const out = this.place(name);
    if (out) fs.mkdirSync(out, { recursive: true, mode: 0o755 });
  }

  /** Open a new file for an entry ('wx': never through a link, never over an earlier entry). */
  open(name: string, size: number, executable: boolean): number | null {
    const out = this.place(name);
    if (!out) return null;
    this.count(size);
    fs.mkdirSync(path.dirname(out), { recursive: true, mode: 0o755 });
    return fs.openSync(out, 'wx', executable ? 0o755 : 0o644);
  }

  count(n: number): void {
    this.bytes += n;
    if (this.bytes > this.maxBytes) {
      throw new PackageError(`refusing to build ${this.filename}: it unpacks to more than ${this.maxBytes} bytes`, 'raise pypi.build.max_unpacked_mb if the package is trusted, or pin a version with a wheel');
    }
  }

  unsafe(name: string, why: string): PackageError {
    return new PackageError(`refusing to build ${this.filename}: entry "${name}" ${why}`, 'this sdist could write outside its build directory; do not use it (pin another version)');
  }
}

function unpackTarGz(data: Buffer, filename: string, writer: TreeWriter, cap: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let failed = false;
    const gunzip = createGunzip();
    const parser = new Parser({ strict: true });
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      gunzip.destroy();
      parser.abort(e);
      reject(e instanceof PackageError ? e : new PackageError(`cannot unpack ${filename}: ${e.message}`, 'the sdist is not a valid .tar.gz; pin another version'));
    };
    parser.on('entry', (entry: ReadEntry) => {
      if (failed) return entry.resume();
      try {
        writeTarEntry(entry, writer, fail);
      } catch (e) {
        entry.resume();
        fail(e as Error);
      }
    });
    parser.on('error', fail);
    parser.on('close', () => failed || resolve());
    let total = 0;
    gunzip.on('data', (chunk: Buffer) => {
      if (failed) return;
      total += chunk.length;
      if (total > cap) return fail(new PackageError(`refusing to build ${filename}: it decompresses to more than ${cap} bytes`, 'raise pypi.build.max_unpacked_mb if the package is trusted'));
      parser.write(chunk);
    });
    gunzip.on('end', () => failed || parser.end());
    gunzip.on('error', fail);
    gunzip.end(data);
  });
}

function writeTarEntry(entry: ReadEntry, writer: TreeWriter, fail: (e: Error) => void): void {
  if (!TAR_TYPES.has(entry.type)) {
    const what = entry.type === 'SymbolicLink' ? 'is a symbolic link' : entry.type === 'Link' ? 'is a hard link' : `is of type ${entry.type}`;
    throw writer.unsafe(entry.path, what);
  }
  if (entry.type === 'Directory') {
    writer.directory(entry.path);
    return entry.resume();
  }
  const fd = writer.open(entry.path, entry.size, ((entry.mode ?? 0) & 0o111) !== 0);
  if (fd === null) return entry.resume();
  // The parser emits an entry's data synchronously as it is fed: writes stay in order.
  entry.on('data', (c: Buffer) => {
    try {
      fs.writeSync(fd, c);
    } catch (e) {
      fail(e as Error);
    }
  });
  entry.on('end', () => fs.closeSync(fd));
}

async function unpackZip(data: Buffer, filename: string, writer: TreeWriter): Promise<void> {
  try {
    await eachZipEntry(data, async (e) => {
      if (e.isSymlink) throw writer.unsafe(e.name, 'is a symbolic link');
      if (e.isDirectory) return writer.directory(e.name);
      const fd = writer.open(e.name, e.size, (e.mode & 0o111) !== 0);
      if (fd === null) return;
      try {
        fs.writeSync(fd, await e.read());
      } finally {
        fs.closeSync(fd);
      }
    });
  } catch (e) {
    if (e instanceof PackageError) throw e;
    const bad = traversalEntry(e);
    if (bad !== null) throw writer.unsafe(bad, 'points outside the source directory');
    throw new PackageError(`cannot unpack ${filename}: ${(e as Error).message}`, 'the sdist is not a valid zip; pin another version');
  }
}
