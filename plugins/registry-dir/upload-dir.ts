import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * File operations on the upload directory that keep `<upload_dir>/<name>`
 * either absent or complete at every instant, across processes too: new code
 * is built in a hidden sibling (same file system, so rename is atomic) and
 * renamed into place; old code is renamed away before it is deleted.
 * Hidden names carry the pid of their creator so a later start can sweep
 * those a crashed worker left behind without touching a live one's.
 */
const SCRATCH = /^\.(tmp|old)-(\d+)-/;

export function scratchPath(uploadDir: string, kind: 'tmp' | 'old', name: string): string {
  return path.join(uploadDir, `.${kind}-${process.pid}-${randomBytes(6).toString('hex')}-${name}`);
}

export async function makeScratchDir(uploadDir: string, name: string): Promise<string> {
  const dir = scratchPath(uploadDir, 'tmp', name);
  await fs.mkdir(dir, { mode: 0o700 });
  return dir;
}

/**
 * Puts the directory `from` at `target`, replacing what is there. Node has no
 * renameat2(RENAME_EXCHANGE), so: rename the old one away, rename the new one
 * in. Another process doing the same may slip its own in between; then
 * rename() finds a non-empty target and we move that one away too and retry,
 * so the last swap wins and no directory is ever half-written.
 */
export async function swapInto(from: string, target: string, uploadDir: string, name: string): Promise<void> {
  const retired: string[] = [];
  try {
    for (let attempt = 0; ; attempt++) {
      const away = await moveAway(target, uploadDir, name);
      if (away) retired.push(away);
      try {
        await fs.rename(from, target);
        return;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || attempt >= 20) throw e;
      }
    }
  } finally {
    await Promise.all(retired.map((d) => fs.rm(d, { recursive: true, force: true })));
  }
}

/** Renames `target` to a hidden scratch name; returns it, or null when there was nothing to move. */
export async function moveAway(target: string, uploadDir: string, name: string): Promise<string | null> {
  const away = scratchPath(uploadDir, 'old', name);
  try {
    await fs.rename(target, away);
    return away;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** Removes scratch entries whose creator is gone (this process counts as gone: it has not made any yet). */
export async function sweepScratch(uploadDir: string): Promise<string[]> {
  const swept: string[] = [];
  for (const entry of await fs.readdir(uploadDir)) {
    const m = SCRATCH.exec(entry);
    if (!m) continue;
    const pid = Number(m[2]);
    if (pid !== process.pid && isAlive(pid)) continue;
    await fs.rm(path.join(uploadDir, entry), { recursive: true, force: true });
    swept.push(entry);
  }
  return swept;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
