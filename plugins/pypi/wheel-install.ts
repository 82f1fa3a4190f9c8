import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { PackageError } from './package-error';
import { unsafeWheel } from './wheel-metadata';
import { RECORD_ENTRY, WheelRecord } from './wheel-record';
import { eachZipEntry, traversalEntry, type ZipEntry } from './zip-reader';

/**
 * Unpack a wheel into `target` (which must not exist yet) without running any
 * of its code: files only, no links, nothing outside `target`, every file
 * checked against the wheel's RECORD (hash and size) before it is written. The
 * `<name>.data/purelib` and `platlib` trees go to the top level, as pip does;
 * scripts, headers and data files are not installed (a sandbox imports
 * packages, it does not run their console scripts).
 */
export async function installWheel(wheel: Buffer, filename: string, target: string): Promise<number> {
  await fs.mkdir(target, { recursive: false, mode: 0o755 });
  let bytes = 0;
  try {
    const record = await readRecord(wheel, filename);
    await eachZipEntry(wheel, async (e) => {
      const rel = destination(e, filename);
      if (e.isDirectory) {
        if (rel !== null) await fs.mkdir(path.join(target, rel), { recursive: true, mode: 0o755 });
        return;
      }
      // Every file, installed or skipped, must be the one RECORD lists.
      const data = await e.read();
      record.verify(e.name, data);
      if (rel === null) return;
      const out = path.join(target, rel);
      await fs.mkdir(path.dirname(out), { recursive: true, mode: 0o755 });
      // 'wx': never follow or overwrite something already there (a duplicate entry is refused).
      await fs.writeFile(out, data, { flag: 'wx', mode: e.mode & 0o111 ? 0o755 : 0o644 });
      bytes += data.length;
    });
  } catch (e) {
    await fs.rm(target, { recursive: true, force: true });
    if (e instanceof PackageError) throw e;
    const bad = traversalEntry(e);
    if (bad !== null) throw unsafeWheel(filename, bad);
    throw new PackageError(`cannot install ${filename}: ${(e as Error).message}`, 'the wheel is malformed or unsafe; pin another version or ask the package maintainer');
  }
  return bytes;
}

async function readRecord(wheel: Buffer, filename: string): Promise<WheelRecord> {
  let found: WheelRecord | undefined;
  await eachZipEntry(wheel, async (e) => {
    if (!found && RECORD_ENTRY.test(e.name)) found = WheelRecord.parse((await e.read()).toString('utf8'), e.name, filename);
  });
  if (!found) throw new PackageError(`refusing to install ${filename}: it has no .dist-info/RECORD, so its files cannot be checked`, 'this is not a valid wheel; pin another version or ask the package maintainer');
  return found;
}

/** Where an entry goes, relative to the target; null to skip it. Unsafe entries throw. */
function destination(e: ZipEntry, filename: string): string | null {
  const unsafe = (why: string) => new PackageError(`refusing to install ${filename}: entry "${e.name}" ${why}`, 'this wheel could write outside its directory; do not use it (pin another version)');
  if (e.isSymlink) throw unsafe('is a symbolic link');
  if (e.name.includes('\\') || e.name.includes('\0')) throw unsafe('has a backslash or NUL in its name');
  const parts = e.name.split('/').filter((p) => p !== '' && p !== '.');
  if (e.name.startsWith('/') || parts.includes('..')) throw unsafeWheel(filename, e.name);
  if (!parts.length) return null;
  const data = /^[^/]+\.data$/.test(parts[0]);
  if (!data) return parts.join('/');
  if (parts[1] === 'purelib' || parts[1] === 'platlib') return parts.length > 2 ? parts.slice(2).join('/') : null;
  return null;
}
