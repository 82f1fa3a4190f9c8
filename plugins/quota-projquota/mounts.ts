import * as fs from 'node:fs/promises';
import * as path from 'node:path';

export interface MountEntry {
  mountPoint: string;
  source: string;
  fsType: string;
  /** Mount options and super-block options together (prjquota shows among the latter). */
  options: string[];
}

/** The mount that holds `dir` (the longest mount point above it; the last one listed when stacked). */
export async function mountFor(dir: string): Promise<MountEntry> {
  const target = path.resolve(dir);
  const text = await fs.readFile('/proc/self/mountinfo', 'utf8');
  let best: MountEntry | null = null;
  for (const line of text.split('\n')) {
    if (!line) continue;
    const f = line.split(' ');
    const mp = unescape(f[4]);
    if (!(target === mp || target.startsWith(mp === '/' ? '/' : mp + '/'))) continue;
    if (best && mp.length < best.mountPoint.length) continue;
    const sep = f.indexOf('-');
    best = { mountPoint: mp, fsType: f[sep + 1], source: f[sep + 2], options: [...f[5].split(','), ...(f[sep + 3] ?? '').split(',')] };
  }
  if (!best) throw new Error(`no mount holds ${target}`);
  return best;
}

/** Whether something is mounted exactly at `dir`. */
export async function isMountPoint(dir: string): Promise<boolean> {
  return (await mountFor(dir).catch(() => null))?.mountPoint === path.resolve(dir);
}

function unescape(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
