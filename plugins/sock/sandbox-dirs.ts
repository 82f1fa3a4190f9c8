import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { SOCKET_NAME } from './launcher-command';

/** sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

/**
 * A sandbox's host directories: `<sandboxes>/<id>/root`, the empty mount
 * point the launcher puts the sandbox's tmpfs root on (in its own mount
 * namespace: the host never sees it), and `<id>/scratch`, writable by the
 * function's user and bound at /host (it holds the runtime's socket).
 */
export class SandboxDirs {
  readonly root: string;
  readonly scratch: string;
  readonly socket: string;

  private constructor(readonly base: string, scratch?: string) {
    this.root = path.join(base, 'root');
    this.scratch = scratch ?? path.join(base, 'scratch');
    this.socket = path.join(this.scratch, SOCKET_NAME);
  }

  /** `scratch`: a directory a customizer provides (e.g. on an owner's quota-limited filesystem) instead of `<id>/scratch`. */
  static async create(sandboxesDir: string, id: string, owner: { uid: number; gid: number }, scratch?: string): Promise<SandboxDirs> {
    const dirs = new SandboxDirs(path.join(sandboxesDir, id), scratch);
    if (Buffer.byteLength(dirs.socket) > MAX_SOCKET_PATH) {
      throw new Error(`the sandbox socket path ${dirs.socket} is longer than the ${MAX_SOCKET_PATH} bytes a Unix socket path may have; use a worker dir with a shorter path`);
    }
    await fs.mkdir(sandboxesDir, { recursive: true, mode: 0o711 });
    await fs.mkdir(dirs.base, { mode: 0o711 });
    try {
      await fs.mkdir(dirs.root, { mode: 0o755 });
      await fs.mkdir(dirs.scratch, { mode: 0o700, recursive: scratch !== undefined });
      await fs.chown(dirs.scratch, owner.uid, owner.gid);
    } catch (e) {
      await fs.rm(dirs.base, { recursive: true, force: true });
      throw e;
    }
    return dirs;
  }

  static at(base: string): SandboxDirs {
    return new SandboxDirs(base);
  }

  /** Remove the directories, unless something is still mounted below them (then it throws and removes nothing). */
  async remove(): Promise<void> {
    const mounted = await mountsUnder(this.base);
    if (mounted.length) {
      throw new Error(`not removing ${this.base}: ${mounted.join(', ')} ${mounted.length === 1 ? 'is' : 'are'} still mounted there on the host (a launcher bug?); unmount ${mounted.length === 1 ? 'it' : 'them'} and remove the directory by hand`);
    }
    await fs.rm(this.base, { recursive: true, force: true });
  }
}

/**
 * Host mount points at or below `dir`. A recursive removal must never walk
 * into a bind mount of /usr or of a function's code, whatever went wrong.
 */
export async function mountsUnder(dir: string): Promise<string[]> {
  const prefix = path.resolve(dir);
  const text = await fs.readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => unescapeMountPath(line.split(' ')[4]))
    .filter((mp) => mp === prefix || mp.startsWith(prefix + '/'));
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
