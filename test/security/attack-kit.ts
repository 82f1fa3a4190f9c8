// Shared by the attack suite: each attack is a real Python function, written
// to a temporary registry dir and run through a real worker (as root).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import YAML from 'yaml';
import { DEFAULT_CONFIG_FILE } from '../../core/config/load-config';
import { nativeArch } from '../../plugins/seccomp/arch';
import { EXAMPLES, startWorker, type RunningWorker } from '../helpers/worker-fixture';

/** Python prelude every attack function gets: `attempt` runs one step and says how it ended. */
const PRELUDE = `import ctypes, errno, json, os, signal, socket, stat, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

def attempt(fn, *args):
    """'ok', or the errno name / exception type that stopped the step."""
    try:
        r = fn(*args)
        return 'ok' if r is None or r is True or not isinstance(r, int) or r >= 0 else errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))
    except OSError as e:
        return errno.errorcode.get(e.errno, type(e).__name__) if e.errno else type(e).__name__
    except Exception as e:
        return type(e).__name__

def sc(nr, *args):
    return libc.syscall(nr, *[ctypes.c_ulong(a) if isinstance(a, int) else a for a in args])
`;

export interface AttackWorker {
  w: RunningWorker;
  /** Run attack `name` with `event`; its JSON answer (the test fails with the body otherwise). */
  run(name: string, event?: unknown): Promise<any>;
  stop(): Promise<void>;
}

/** Write `attacks` (name -> body of `def f(event):`) and start a worker serving them. */
export async function attackWorker(attacks: Record<string, string>, overrides: string[] = [], olYaml: Record<string, string> = {}): Promise<AttackWorker> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ol-attacks-'));
  for (const [name, body] of Object.entries(attacks)) {
    fs.mkdirSync(path.join(dir, name));
    const indented = body.trim().split('\n').map((l) => '    ' + l).join('\n');
    fs.writeFileSync(path.join(dir, name, 'f.py'), `${PRELUDE}\ndef f(event):\n${indented}\n`);
    if (olYaml[name]) fs.writeFileSync(path.join(dir, name, 'ol.yaml'), olYaml[name]);
  }
  // The attacks' dir first: an attack named like an example shadows it.
  const w = await startWorker([`registry-dir.dirs=[${dir}, ${EXAMPLES}]`, ...overrides]);
  return {
    w,
    async run(name, event = {}) {
      const r = await w.run(name, event);
      if (r.status !== 200) throw new Error(`attack ${name} answered ${r.status}: ${r.text}`);
      return r.json;
    },
    async stop() {
      await w.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A file on the host, outside every sandbox's view, for attacks to look for. */
export function hostMarker(): { path: string; content: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ol-host-secret-'));
  const file = path.join(dir, 'secret.txt');
  const content = `host-secret-${process.pid}-${Date.now()}`;
  fs.writeFileSync(file, content, { mode: 0o644 });
  return { path: file, content, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Syscall numbers of this host's architecture. */
export function syscallNumbers(): Record<string, number> {
  return nativeArch().syscalls as Record<string, number>;
}

/** A `plugins=[...]` override: the default config's plugins plus `extra`. */
export function pluginsPlus(...extra: string[]): string {
  const { plugins } = YAML.parse(fs.readFileSync(DEFAULT_CONFIG_FILE, 'utf8')) as { plugins: string[] };
  return `plugins=[${[...plugins.filter((p) => !extra.includes(p)), ...extra].join(', ')}]`;
}
