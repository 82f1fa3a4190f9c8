import * as fs from 'node:fs';
import { freshCopy } from '../lib/archive';
import { startBwrap } from '../lib/bwrap';
import { waitUntil } from '../lib/wait';
import { postEcho } from '../lib/load';
import { descendants, memoryCgroupDir, processMemory, type ProcMemory } from '../lib/proc';
import { ECHO_DIR, type RuntimeProcess } from '../lib/runtime-process';
import type { BenchContext } from '../lib/context';
import { compared, defineSuite, measured } from '../lib/suite';
import { sharedWorker, type WorkerProcess } from '../lib/worker-process';
import { sharedZygoteWorker } from '../lib/zygote';

const FN = 'bench-density';
const MIB = 1024 * 1024;
const GIB_MIB = 1024;

interface Instance {
  pids: number[];
  chargedBytes: number;
}

/** The worker's sandboxes, by memory cgroup: their processes and what the kernel charges the cgroup. */
function sandboxesOf(worker: WorkerProcess): Map<string, Instance> {
  const out = new Map<string, Instance>();
  // Children still in the worker's own cgroup (a launcher before it joins its sandbox's) are no sandbox.
  const own = memoryCgroupDir(worker.pid)?.dir;
  for (const pid of descendants(worker.pid)) {
    let cg;
    try {
      cg = memoryCgroupDir(pid);
    } catch {
      continue; // exited meanwhile
    }
    if (!cg || cg.dir === own) continue;
    const inst = out.get(cg.dir) ?? { pids: [], chargedBytes: Number(fs.readFileSync(cg.usageFile, 'utf8')) };
    inst.pids.push(pid);
    out.set(cg.dir, inst);
  }
  return out;
}

function sumMemory(pids: number[]): ProcMemory {
  const total = { rss: 0, pss: 0, uss: 0 };
  for (const pid of pids) {
    const m = processMemory(pid);
    total.rss += m.rss;
    total.pss += m.pss;
    total.uss += m.uss;
  }
  return total;
}

/** Frozen, as the v1 freezer or the v2 cgroup.freeze reports it; false once it exited (the caller looks again). */
function frozen(pid: number): boolean {
  let text;
  try {
    text = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return false;
  }
  const lines = text.trim().split('\n').map((l) => l.split(':'));
  const v1 = lines.find(([, c]) => c.split(',').includes('freezer'));
  if (v1) return fs.readFileSync(`/sys/fs/cgroup/freezer${v1[2]}/freezer.state`, 'utf8').trim() === 'FROZEN';
  const v2 = lines.find(([id]) => id === '0');
  return !!v2 && /^frozen 1$/m.test(fs.readFileSync(`/sys/fs/cgroup${v2[2]}/cgroup.events`, 'utf8'));
}

/** `n` paused instances of a new copy of echo in `worker` (started by n requests at once): their cgroup charge (MiB) and memory. */
async function pausedInstances(ctx: BenchContext, worker: WorkerProcess, n: number): Promise<{ charged: number[]; mem: ProcMemory[] }> {
  const before = new Set(sandboxesOf(worker).keys());
  const up = await worker.adminCall('POST', `/registry/${FN}`, await freshCopy(ECHO_DIR, ctx.mkdir('dens-'), 0));
  if (up.status !== 201) throw new Error(`uploading ${FN} failed: HTTP ${up.status} ${up.text}`);
  // n requests at once: no instance is free, so the scheduler starts n of them.
  const pool = worker.pool(ctx, n);
  await Promise.all(Array.from({ length: n }, () => postEcho(pool, `/run/${FN}`)));
  const mine = () => [...sandboxesOf(worker)].filter(([dir]) => !before.has(dir)).map(([, inst]) => inst);
  await waitUntil(() => mine().every((i) => i.pids.every((p) => frozen(p))), 10_000, 'the instances to be paused');
  const instances = mine();
  ctx.log(`${instances.length} paused instances of ${FN}`);
  return { charged: instances.map((i) => i.chargedBytes / MIB), mem: instances.map((i) => sumMemory(i.pids)) };
}

/**
 * Density: idle (paused) instances of one function, measured as the memory
 * the kernel charges each instance's cgroup and as the PSS of its processes
 * (launcher, sandbox init, runtime), from /proc/<pid>/smaps_rollup. How many
 * fit in 1 GiB follows from the median. Baseline: idle bwrap runtimes.
 * The same for instances forked from the root zygote (a worker with the
 * zygote plugins): their unique memory (USS) is what a fork costs on its own,
 * the pages it shares with the zygote are the zygote's (docs/zygotes.md).
 */
export default defineSuite({
  name: 'density',
  title: 'Density: idle (paused) instances of echo, memory per instance',
  order: 40,
  async run(ctx) {
    const worker = await sharedWorker(ctx);
    const zworker = await sharedZygoteWorker(ctx);
    const n = ctx.pick(8, 3); // at most scheduler-fifo.max_instances_per_function (8 by default)
    await postEcho(zworker.pool(ctx, 1), '/run/echo'); // the root zygote exists before the snapshot of what is not ours
    const { charged, mem } = await pausedInstances(ctx, worker, n);
    const forked = await pausedInstances(ctx, zworker, n);

    // Baseline: the same number of idle bwrap runtimes (no cgroup of their own, so PSS only).
    const bw: RuntimeProcess[] = [];
    try {
      for (let i = 0; i < mem.length; i++) bw.push(await startBwrap(ctx.mkdir('dbw-')));
      const theirs = bw.map((rt) => sumMemory([rt.pid, ...descendants(rt.pid)]));
      const pss = mem.map((m) => m.pss / MIB);
      const uss = mem.map((m) => m.uss / MIB);
      const fresh = (runs: number[]) => ({ label: 'fresh sandbox', runs });
      return {
        rows: [
          measured('idle instance, cgroup-charged memory', 'MiB', charged),
          compared('idle instance, PSS', 'MiB', pss, { label: 'bwrap', runs: theirs.map((m) => m.pss / MIB) }),
          compared('idle instance, unique (USS)', 'MiB', uss, { label: 'bwrap', runs: theirs.map((m) => m.uss / MIB) }),
          measured('instances in 1 GiB, by cgroup charge', 'instances', [Math.floor(GIB_MIB / median(charged))]),
          compared('instances in 1 GiB, by PSS', 'instances', [Math.floor(GIB_MIB / median(pss))], { label: 'bwrap', runs: [Math.floor(GIB_MIB / median(theirs.map((m) => m.pss / MIB)))] }),
          compared('idle forked instance, cgroup-charged memory', 'MiB', forked.charged, fresh(charged)),
          compared('idle forked instance, PSS', 'MiB', forked.mem.map((m) => m.pss / MIB), fresh(pss)),
          compared('idle forked instance, unique (USS)', 'MiB', forked.mem.map((m) => m.uss / MIB), fresh(uss), { op: '<=', bound: 3, on: 'value' }, 'echo forked from the root zygote'),
        ],
        notes: [
          `${mem.length} paused instances of one function in each worker; spreads are over instances (min/median/max), not runs`,
          'an instance is its launcher, sandbox init and runtime; cgroup charge includes page cache first touched by that instance (v1 memory.usage_in_bytes, v2 memory.current)',
          'a forked instance is its launcher, sandbox init and holder (all C), its pid 1 (forked from the zygote, then exec of ol-launcher --reap) and the runtime (forked from the zygote); its PSS includes its share of the pages it still shares with the zygote',
        ],
      };
    } finally {
      await Promise.all(bw.map((rt) => rt.kill()));
      await worker.adminCall('DELETE', `/registry/${FN}`);
      await zworker.adminCall('DELETE', `/registry/${FN}`);
    }
  },
});

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[xs.length >> 1];
}
