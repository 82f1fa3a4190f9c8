import * as fs from 'node:fs';
import type { SuitabilityReason } from '../../core';

/** One open fd of a process, as /proc shows it from outside. */
export interface OpenFd {
  fd: number;
  /** readlink of /proc/<pid>/fd/<n>: a path, `socket:[ino]`, `pipe:[ino]`, `anon_inode:[eventfd]`... */
  target: string;
  kind: 'file' | 'directory' | 'socket' | 'pipe' | 'anon-inode' | 'device' | 'other';
  /** Open flags from fdinfo (octal in /proc). */
  flags: number;
  writable: boolean;
}

/** What a process looks like from outside: what decides whether it is safe to fork from. */
export interface ProcessSnapshot {
  pid: number;
  threads: { tid: number; name: string }[];
  fds: OpenFd[];
  /** Host pids of its child processes (a fork does not copy them; their parent would be wrong). */
  children: number[];
  /** Files mapped shared and writable: every forked copy writes the same pages. */
  sharedWritableMaps: string[];
}

const O_ACCMODE = 0o3;
const O_PATH = 0o10000000;

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function fdKind(pid: number, fd: number, target: string): OpenFd['kind'] {
  if (target.startsWith('socket:')) return 'socket';
  if (target.startsWith('pipe:')) return 'pipe';
  if (target.startsWith('anon_inode:')) return 'anon-inode';
  try {
    const st = fs.statSync(`/proc/${pid}/fd/${fd}`);
    if (st.isDirectory()) return 'directory';
    if (st.isFile()) return 'file';
    if (st.isFIFO()) return 'pipe';
    if (st.isSocket()) return 'socket';
    if (st.isCharacterDevice() || st.isBlockDevice()) return 'device';
  } catch {
    // Closed meanwhile, or a target in another mount namespace we cannot stat: judged by name.
  }
  return 'other';
}

function openFds(pid: number): OpenFd[] {
  let names: string[];
  try {
    names = fs.readdirSync(`/proc/${pid}/fd`);
  } catch (e) {
    throw new Error(`cannot list the fds of process ${pid} (${(e as Error).message}); it has exited, or the worker lacks the right to inspect it (run it as root)`);
  }
  const fds: OpenFd[] = [];
  for (const name of names) {
    const fd = Number(name);
    let target: string;
    try {
      target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed between readdir and readlink
    }
    const flagsLine = /^flags:\s+([0-7]+)/m.exec(readText(`/proc/${pid}/fdinfo/${fd}`));
    const flags = flagsLine ? parseInt(flagsLine[1], 8) : 0;
    const writable = (flags & O_PATH) === 0 && (flags & O_ACCMODE) !== 0;
    fds.push({ fd, target, kind: fdKind(pid, fd, target), flags, writable });
  }
  return fds.sort((a, b) => a.fd - b.fd);
}

function threads(pid: number): ProcessSnapshot['threads'] {
  return fs
    .readdirSync(`/proc/${pid}/task`)
    .map(Number)
    .sort((a, b) => a - b)
    .map((tid) => ({ tid, name: readText(`/proc/${pid}/task/${tid}/comm`).trim() }));
}

function children(pid: number, tids: number[]): number[] {
  return tids.flatMap((tid) => readText(`/proc/${pid}/task/${tid}/children`).split(/\s+/).filter(Boolean).map(Number));
}

/** Mappings with `s` (shared) and `w` of a named file; /dev/zero-style anonymous shared memory is private to the process tree anyway. */
function sharedWritableMaps(pid: number): string[] {
  const out = new Set<string>();
  for (const line of readText(`/proc/${pid}/maps`).split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length < 6) continue;
    const perms = parts[1];
    const file = parts.slice(5).join(' ');
    if (perms[1] === 'w' && perms[3] === 's' && file.startsWith('/') && !file.startsWith('/dev/zero')) out.add(file);
  }
  return [...out];
}

/** Inspect a live process from outside, through /proc only (it never notices). */
export function snapshot(pid: number): ProcessSnapshot {
  const fds = openFds(pid);
  const t = threads(pid);
  return { pid, threads: t, fds, children: children(pid, t.map((x) => x.tid)), sharedWritableMaps: sharedWritableMaps(pid) };
}

/** What the fd means for the forked copies of this process. */
export function judgeFd(f: OpenFd): SuitabilityReason {
  const at = `fd ${f.fd} (${f.target})`;
  switch (f.kind) {
    case 'directory':
      return { kind: 'directory', unsafe: true, detail: `${at} is an open directory: a forked child in another root could fchdir() to it and walk out of its root` };
    case 'file':
      return f.writable
        ? { kind: 'writable-file', unsafe: true, detail: `${at} is a regular file open for writing: every forked sibling would share it and its offset, and could change it` }
        : { kind: 'read-only-file', unsafe: false, detail: `${at} is a regular file open read-only: siblings share its offset, and it stays readable after the child changes root` };
    case 'socket':
      return { kind: 'socket', unsafe: true, detail: `${at} is a socket: every forked sibling would share one connection (and could reach what it reaches from outside its sandbox)` };
    case 'pipe':
      return { kind: 'pipe', unsafe: true, detail: `${at} is a pipe: every forked sibling would share it` };
    case 'anon-inode':
      return { kind: 'anon-inode', unsafe: true, detail: `${at} is a kernel object (eventfd, epoll, timerfd, inotify...) that forked siblings would share` };
    case 'device':
      return f.writable && !/^\/dev\/(null|zero|full|u?random)$/.test(f.target)
        ? { kind: 'device', unsafe: true, detail: `${at} is a device open for writing` }
        : { kind: 'device', unsafe: false, detail: `${at} is a device (harmless to share)` };
    default:
      return { kind: 'other-fd', unsafe: true, detail: `${at} is open and of a kind the check does not know; not forking from it to be safe` };
  }
}

/** An fd's kind and target without inode numbers: what a clean runtime and a probed one have in common. */
export function fdSignature(f: OpenFd): string {
  return `${f.kind} ${f.target.replace(/\[\d+\]$/, '')} ${f.writable ? 'w' : 'r'}`;
}

/**
 * The fds of `snap` beyond those of a clean runtime (`baseline`, signatures
 * counted as a multiset): the imports happen before the runtime opens its own
 * socket, so fd numbers differ between the two and only kinds can be matched.
 */
export function fdsBeyond(snap: ProcessSnapshot, baseline: string[]): Set<number> {
  const left = new Map<string, number>();
  for (const sig of baseline) left.set(sig, (left.get(sig) ?? 0) + 1);
  const ignore = new Set<number>();
  // Highest numbers first: the runtime opens its own fds after the imports.
  for (const f of [...snap.fds].reverse()) {
    const n = left.get(fdSignature(f)) ?? 0;
    if (n > 0) {
      left.set(fdSignature(f), n - 1);
      ignore.add(f.fd);
    }
  }
  return ignore;
}

/**
 * The reasons a process is unfit (or notable) to fork from, leaving out the
 * fds in `ignoreFds` (the runtime's own: stdio, its listening socket).
 */
export function judge(snap: ProcessSnapshot, ignoreFds: Set<number>): SuitabilityReason[] {
  const reasons: SuitabilityReason[] = [];
  if (snap.threads.length > 1) {
    const names = snap.threads.slice(1).map((t) => t.name).join(', ');
    reasons.push({ kind: 'threads', unsafe: true, detail: `${snap.threads.length} threads (besides the main one: ${names}); fork copies only the calling thread, so the others' locks and work would be lost in every child` });
  }
  for (const f of snap.fds) if (!ignoreFds.has(f.fd)) reasons.push(judgeFd(f));
  if (snap.children.length) {
    reasons.push({ kind: 'child-process', unsafe: true, detail: `${snap.children.length} child process(es) (pids ${snap.children.join(', ')}): a forked child would not have them, and would not be their parent` });
  }
  for (const file of snap.sharedWritableMaps) {
    reasons.push({ kind: 'shared-writable-mapping', unsafe: true, detail: `${file} is mapped shared and writable: every forked sibling would write the same pages` });
  }
  return reasons;
}
