import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'undici';
import { parse } from 'yaml';
import { DEFAULT_CONFIG_FILE } from '../../core/config/load-config';
import type { BenchContext } from './context';
import { sharedKernel, type Kernel } from './in-process-worker';
import { WorkerProcess } from './worker-process';

/**
 * Worker `-o` overrides that add the zygote plugins to the default config,
 * with a root zygote (the runtime alone, no package): every function
 * without packages of its own, echo among them, is forked from it.
 */
export function zygoteOverrides(extra: string[] = []): string[] {
  const plugins = (parse(fs.readFileSync(DEFAULT_CONFIG_FILE, 'utf8')) as { plugins: string[] }).plugins;
  const withZygotes = [...plugins.filter((p) => !p.startsWith('zygote')), 'zygote-suitability', 'zygote'];
  return [`plugins=[${withZygotes.join(', ')}]`, 'zygote.root=true', ...extra];
}

/** The suite's worker process with zygotes (as sharedWorker, plus zygoteOverrides()). */
export function sharedZygoteWorker(ctx: BenchContext): Promise<WorkerProcess> {
  return ctx.shared('zygote-worker', async () => {
    const w = await WorkerProcess.start(path.join(ctx.tmpDir, 'zw'), zygoteOverrides());
    ctx.onCleanup(() => w.stop());
    return w;
  });
}

/** The suite's in-process worker with zygotes, for suites that drive the SandboxBackend. */
export function sharedZygoteKernel(ctx: BenchContext): Promise<Kernel> {
  return sharedKernel(ctx, { key: 'zygote-kernel', overrides: zygoteOverrides() });
}

interface TreeNode {
  packages: string[];
  forks: number;
  children: TreeNode[];
}

/** Instances forked so far, over every zygote of the tree (GET /zygote/tree on the admin socket). */
export async function zygoteForks(adminSocket: string): Promise<number> {
  const client = new Client('http://localhost', { socketPath: adminSocket });
  try {
    const res = await client.request({ method: 'GET', path: '/zygote/tree' });
    const { zygotes } = (await res.body.json()) as { zygotes: TreeNode[] };
    const sum = (nodes: TreeNode[]): number => nodes.reduce((n, z) => n + z.forks + sum(z.children), 0);
    return sum(zygotes);
  } finally {
    await client.close();
  }
}

/** Fails the suite when fewer of its cold starts than it measured were forks: the figures would be a fresh sandbox's. */
export function expectForks(what: string, forked: number, measured: number): void {
  if (forked < measured) throw new Error(`${what}: only ${forked} of ${measured} sandboxes were forked from a zygote (the others fell back to fresh ones: see the worker log); the zygote figures would be wrong`);
}
