import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/**
 * Whether `dir` looks like a function: a directory holding `f.py` or an
 * `ol.yaml` (which may name another entry file). Deeper validation is core's
 * job when it loads the function.
 */
export async function isFunctionDir(dir: string): Promise<boolean> {
  const st = await fs.stat(dir).catch(() => null);
  if (!st?.isDirectory()) return false;
  for (const marker of ['f.py', 'ol.yaml']) {
    const m = await fs.stat(path.join(dir, marker)).catch(() => null);
    if (m?.isFile()) return true;
  }
  return false;
}
