import type { ReadEntry } from 'tar';
import { RegistryError } from './registry-error';

export interface ArchiveLimits {
  maxArchiveBytes: number;
  maxUnpackedBytes: number;
  maxFiles: number;
}

/** Entry types an uploaded function may contain: plain files and directories, nothing that points elsewhere. */
const ALLOWED = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);

const HINT = 'pack only the regular files and directories of the function, e.g. `tar czf fn.tar.gz -C myfn .`';

/**
 * The rules every archive entry must pass, applied while only reading the
 * archive (so a bad one is refused before anything is written) and again
 * while extracting. It also tallies what the archive holds, which decides
 * whether the function sits at the top level or in a single wrapper directory.
 */
export class EntryPolicy {
  private entries = 0;
  private bytes = 0;
  private readonly tops = new Set<string>();
  private readonly topFiles = new Set<string>();
  private nested = false;

  constructor(private readonly limits: ArchiveLimits) {}

  admit(entry: Pick<ReadEntry, 'path' | 'type' | 'size'>): void {
    const parts = this.checkPath(entry.path);
    this.checkType(entry);
    if (parts.length === 0) return; // "./": the archive's own root
    if (++this.entries > this.limits.maxFiles) {
      throw new RegistryError(`archive holds more than ${this.limits.maxFiles} entries (max_files); remove files the function does not need`, 413);
    }
    if (entry.type !== 'Directory') this.bytes += entry.size;
    if (this.bytes > this.limits.maxUnpackedBytes) {
      throw new RegistryError(`archive unpacks to more than ${this.limits.maxUnpackedBytes} bytes (max_unpacked_bytes); remove large files or raise the limit`, 413);
    }
    this.tops.add(parts[0]);
    if (parts.length > 1) this.nested = true;
    else if (entry.type !== 'Directory') this.topFiles.add(parts[0]);
  }

  /**
   * The single top-level directory that holds the function (`myfn/f.py`
   * layouts), or null when the files are at the archive's top level.
   */
  wrapperDir(): string | null {
    if (this.tops.size !== 1 || this.topFiles.size !== 0 || !this.nested) return null;
    return [...this.tops][0];
  }

  private checkPath(raw: string): string[] {
    if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw) || raw.startsWith('\\')) {
      throw new RegistryError(`archive entry ${JSON.stringify(raw)} has an absolute path; ${HINT}`, 400);
    }
    const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) {
      throw new RegistryError(`archive entry ${JSON.stringify(raw)} has a '..' component that would write outside the function directory; ${HINT}`, 400);
    }
    return parts;
  }

  private checkType(entry: Pick<ReadEntry, 'path' | 'type'>): void {
    if (ALLOWED.has(entry.type)) return;
    const what =
      entry.type === 'SymbolicLink' ? 'a symbolic link' :
      entry.type === 'Link' ? 'a hard link' :
      entry.type === 'CharacterDevice' || entry.type === 'BlockDevice' ? 'a device file' :
      entry.type === 'FIFO' ? 'a FIFO' :
      `of unsupported type ${entry.type}`;
    throw new RegistryError(`archive entry ${JSON.stringify(entry.path)} is ${what}, which uploads may not contain; ${HINT}`, 400);
  }
}
