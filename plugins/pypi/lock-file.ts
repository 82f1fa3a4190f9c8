import * as fs from 'node:fs';
import * as path from 'node:path';
import { PackageError } from './package-error';

export const LOCK_FILE = 'ol.lock';

/** One pinned package of a lock: exactly this file, with this hash. */
export interface LockedPackage {
  name: string;
  version: string;
  file: string;
  sha256: string;
  /** Who needs it ("the function", "a 2.0"), for people reading the lock. */
  required_by: string[];
}

/**
 * `ol.lock`: JSON, written by `ol pkg lock` (or taken from the worker's
 * report). A function with a lock installs exactly these files, verifying
 * each hash, without resolving.
 */
export interface LockFile {
  lock_version: 1;
  /** The function's requirements the lock was made from; a change makes the lock stale. */
  requirements: string[];
  /** The interpreter it was resolved for (markers and wheel tags depend on it). */
  python: { version: string; tag: string };
  packages: LockedPackage[];
}

export function readLock(codeDir: string): LockFile | null {
  const file = path.join(codeDir, LOCK_FILE);
  if (!fs.existsSync(file)) return null;
  let doc: LockFile;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8')) as LockFile;
  } catch (e) {
    throw new PackageError(`${LOCK_FILE} is not valid JSON: ${(e as Error).message}`, 'regenerate it with `ol pkg lock <function dir>`');
  }
  const ok = doc && doc.lock_version === 1 && Array.isArray(doc.requirements) && Array.isArray(doc.packages)
    && doc.packages.every((p) => typeof p.name === 'string' && typeof p.version === 'string' && typeof p.file === 'string' && /^[0-9a-f]{64}$/.test(p.sha256));
  if (!ok) throw new PackageError(`${LOCK_FILE} is not a lock this worker understands (lock_version 1 with packages of name, version, file and sha256)`, 'regenerate it with `ol pkg lock <function dir>`');
  return doc;
}

/** The lock is stale when the function's requirements changed since it was made. */
export function checkLockMatches(lock: LockFile, requirements: string[]): void {
  const a = [...new Set(lock.requirements)].sort();
  const b = [...new Set(requirements)].sort();
  if (a.length !== b.length || a.some((x, i) => x !== b[i])) {
    throw new PackageError(
      `${LOCK_FILE} was made for the requirements [${a.join(', ')}] but the function now asks for [${b.join(', ')}]`,
      'run `ol pkg lock <function dir>` again to refresh the lock, then upload the function',
    );
  }
}
