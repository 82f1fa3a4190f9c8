import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { LoadedFunction, ResolvedPackages, ResourceLimits, Sandbox, SandboxBackend } from '../../core';

/** What a probe sandbox shows once its runtime has imported the modules. */
export interface ProbedRuntime {
  /** Host pid of the Python runtime that did the imports. */
  pid: number;
  /** The import failed: the runtime's message (the process is then not worth judging). */
  importError?: string;
}

/** The runtime (pid 2) of a sandbox whose init has host pid `initPid`. */
export async function runtimePid(initPid: number): Promise<number> {
  const kids = (await fs.readFile(`/proc/${initPid}/task/${initPid}/children`, 'utf8')).trim().split(/\s+/).filter(Boolean).map(Number);
  if (!kids.length) throw new Error(`the sandbox init (host pid ${initPid}) has no runtime process; it exited`);
  return kids[0];
}

/** f.py of a probe: the imports at module level, as a zygote does them before any request. */
export function probeSource(modules: string[]): string {
  return ['import os', ...modules.map((m) => `import ${m}`), '', 'def f(event):', '    return {"pid": os.getpid()}', ''].join('\n');
}

/**
 * A throwaway sandbox whose runtime imported `modules` (with the package dirs
 * mounted), for inspection from outside. `use` runs while it lives; the
 * sandbox and its code dir are always removed.
 */
export async function withProbeSandbox<T>(
  opts: { backend: SandboxBackend; workDir: string; modules: string[]; limits: ResourceLimits; packages?: ResolvedPackages; label: string; onFunction?: (fn: LoadedFunction) => void },
  use: (probe: ProbedRuntime, sandbox: Sandbox) => Promise<T>,
): Promise<T> {
  const codeDir = path.join(opts.workDir, `probe-${randomBytes(4).toString('hex')}`);
  await fs.mkdir(codeDir, { recursive: true, mode: 0o755 });
  await fs.chmod(opts.workDir, 0o711); // the sandbox user must reach the code dir
  await fs.writeFile(path.join(codeDir, 'f.py'), probeSource(opts.modules), { mode: 0o644 });
  const fn: LoadedFunction = {
    name: `zygote-check.${opts.label}`,
    version: 'probe',
    codeDir,
    role: 'probe',
    config: { entry: 'f.py', handler: 'f', owner: 'ol-zygote-check', methods: null, environment: {}, reuseSandbox: false, packages: [], imports: opts.modules, limits: {} },
    limits: opts.limits,
    ...(opts.packages ? { packages: opts.packages } : {}),
  };
  opts.onFunction?.(fn);
  let sandbox: Sandbox | undefined;
  try {
    sandbox = await opts.backend.create(fn);
    // One call tells whether the import worked (a failed import is reported per request, not at start).
    const out = await sandbox.invoke({ requestId: `zygote-check-${randomBytes(4).toString('hex')}`, body: Buffer.from('{}'), method: 'POST' });
    const pid = await runtimePid(sandbox.pid);
    const probe: ProbedRuntime = out.ok ? { pid } : { pid, importError: `${out.failure.type ?? out.failure.kind}: ${out.failure.message}` };
    return await use(probe, sandbox);
  } finally {
    await sandbox?.destroy('zygote suitability probe done');
    await fs.rm(codeDir, { recursive: true, force: true });
  }
}
