import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/** The mount at exactly `dir` (its source device, e.g. /dev/loop3), or null when nothing is mounted there. */
export async function mountedAt(dir: string): Promise<{ source: string } | null> {
  const target = path.resolve(dir);
  const text = await fs.readFile('/proc/self/mountinfo', 'utf8');
  let found: { source: string } | null = null;
  for (const line of text.split('\n')) {
    if (!line) continue;
    const fields = line.split(' ');
    if (unescape(fields[4]) !== target) continue;
    const sep = fields.indexOf('-');
    found = { source: fields[sep + 2] }; // the last one listed is the one on top
  }
  return found;
}

function unescape(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
