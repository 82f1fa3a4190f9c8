import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createGunzip } from 'node:zlib';
import { Parser, Unpack, type ReadEntry } from 'tar';
import { EntryPolicy, type ArchiveLimits } from './entry-policy';
import { isFunctionDir } from './function-dir';
import { RegistryError } from './registry-error';

/** Tar overhead allowed per entry on top of file sizes: header, padding, a pax header. */
const PER_ENTRY_OVERHEAD = 4096;
const SLACK = 1024 * 1024;

/**
 * Unpacks a .tar.gz of a function directory into the empty directory `dest`
 * and returns the function's root inside it (`dest` itself, or the archive's
 * single top-level directory). Two passes over the in-memory archive: the
 * first only reads headers and refuses a bad archive before anything is
 * written; the second extracts with the same rules as a filter, so a parser
 * disagreement between passes cannot let an entry through. Decompression is
 * capped too, so a gzip bomb costs at most the configured sizes.
 */
export async function extractArchive(archive: Buffer, dest: string, limits: ArchiveLimits): Promise<string> {
  if (archive.length > limits.maxArchiveBytes) {
    throw new RegistryError(`archive is ${archive.length} bytes, over the ${limits.maxArchiveBytes}-byte limit (max_archive_bytes); make it smaller or raise the limit`, 413);
  }
  if (archive.length < 2 || archive[0] !== 0x1f || archive[1] !== 0x8b) {
    throw new RegistryError('archive is not gzip-compressed; upload a .tar.gz of the function directory, e.g. `tar czf fn.tar.gz -C myfn .`', 400);
  }
  // The stream fed to tar is already gunzipped: no sniffing for other formats.
  const plain = { strict: true, brotli: false, zstd: false } as const;
  const layout = new EntryPolicy(limits);
  await feed(archive, limits, (e) => layout.admit(e), (filter) => {
    const reader = new Parser({ ...plain, filter });
    reader.on('entry', (entry: ReadEntry) => entry.resume());
    return reader;
  });
  const recheck = new EntryPolicy(limits);
  await feed(archive, limits, (e) => recheck.admit(e), (filter) => new Unpack({ ...plain, filter, cwd: dest, preserveOwner: false }));

  const wrapper = layout.wrapperDir();
  const root = wrapper ? path.join(dest, wrapper) : dest;
  await normaliseModes(root);
  if (!(await isFunctionDir(root))) {
    throw new RegistryError('archive has no f.py or ol.yaml at its top level (or inside its single top-level directory); pack the function directory itself, e.g. `tar czf fn.tar.gz -C myfn .`', 400);
  }
  return root;
}

/**
 * Gunzips `archive` into `parser`, checking each entry with `check` before the
 * parser acts on it (tar consults its filter before writing an entry). Settles
 * once the parser has closed (for an Unpack: every file is written) or on the
 * first error, after which nothing more is fed.
 */
function feed(
  archive: Buffer,
  limits: ArchiveLimits,
  check: (e: ReadEntry) => void,
  makeParser: (filter: (p: string, e: unknown) => boolean) => Parser,
): Promise<void> {
  const cap = limits.maxUnpackedBytes + limits.maxFiles * PER_ENTRY_OVERHEAD + SLACK;
  return new Promise((resolve, reject) => {
    let failed = false;
    const gunzip = createGunzip();
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      gunzip.destroy();
      reject(e);
      parser.abort(e);
    };
    const parser = makeParser((_p, entry) => {
      if (failed) return false;
      try {
        check(entry as ReadEntry);
        return true;
      } catch (e) {
        fail(e as Error);
        return false;
      }
    });
    parser.on('error', (e: Error) => fail(e instanceof RegistryError ? e : badTar(e)));
    parser.on('close', () => {
      if (!failed) resolve();
    });
    // Past tar's end-of-archive marker the parser gets nothing more: bytes
    // after it are only counted against the cap (cheap), so a gzip bomb of
    // zeros there is refused quickly instead of keeping the parser busy.
    let sawEnd = false;
    parser.on('eof', () => {
      sawEnd = true;
    });
    let total = 0;
    gunzip.on('data', (chunk: Buffer) => {
      if (failed) return;
      total += chunk.length;
      if (total > cap) {
        fail(new RegistryError(`archive decompresses to more than ${cap} bytes (max_unpacked_bytes plus tar overhead); make it smaller or raise the limit`, 413));
      } else if (!sawEnd && !parser.write(chunk)) {
        gunzip.pause();
        parser.once('drain', () => gunzip.resume());
      }
    });
    gunzip.on('end', () => {
      if (!failed) parser.end();
    });
    gunzip.on('error', (e) => fail(new RegistryError(`archive is not a valid gzip stream (${e.message}); upload a .tar.gz`, 400)));
    gunzip.end(archive);
  });
}

function badTar(e: Error): RegistryError {
  return new RegistryError(`archive is not a valid tar archive or cannot be unpacked (${e.message}); upload a .tar.gz made by tar`, 400);
}

/**
 * Code is mounted read-only into sandboxes that may run as another user, and
 * must never carry setuid bits: everything becomes world-readable, executable
 * bits are kept, nothing else.
 */
async function normaliseModes(dir: string): Promise<void> {
  await fs.chmod(dir, 0o755);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      await normaliseModes(p);
    } else if (entry.isFile()) {
      const { mode } = await fs.lstat(p);
      await fs.chmod(p, mode & 0o111 ? 0o755 : 0o644);
    }
  }
}
