// Cold start through a zygote vs a fresh sandbox, and the unique memory of an
// idle forked instance vs a fresh one, measured in the same run (alternating).
// Runs alone, as root:
//   npx tsc -p . && make -C native && node dist/bench/zygote.js [--rounds N]
// Writes bench/results/zygote.json and prints a table.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SandboxBackendPoint, Tokens } from '../core';
import { startWorker, type RunningWorker } from '../test/helpers/worker-fixture';
import { BASE_PLUGINS, ZYGOTE_PACKAGES, zygoteTestConfig } from '../test/helpers/zygote-config';

const REPO = path.resolve(__dirname, '../..');
const ROUNDS = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 15;

/** The function: imports test/zygote-packages/slowpkg (~200 ms and ~20 MB at import). */
const FUNCTION = `# ol-import: slowpkg
import slowpkg

def f(event):
    return slowpkg.answer((event or {}).get("x"))
`;

function functionsDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'olz-bench-'));
  fs.chmodSync(dir, 0o755);
  fs.mkdirSync(path.join(dir, 'slow'), { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'slow', 'f.py'), FUNCTION, { mode: 0o644 });
  return dir;
}

/** Zygotes on (learned after one cold start), or the same plugins with no zygote ever (every sandbox fresh). */
async function worker(zygotes: boolean, fns: string): Promise<RunningWorker> {
  const sections = {
    'zygote-suitability': { package_dirs: [ZYGOTE_PACKAGES] },
    zygote: zygotes ? { package_dirs: [ZYGOTE_PACKAGES], learn_after: 1 } : { package_dirs: [ZYGOTE_PACKAGES], learn: false, check: false },
  };
  return startWorker([`registry-dir.dirs=[${fns}]`], zygoteTestConfig([...BASE_PLUGINS, 'zygote-suitability', 'zygote'], sections));
}

/**
 * One cold start at the sandbox backend (what a request without a warm
 * instance waits for): create the sandbox (fork from the zygote, or fresh),
 * then its first answer. The scheduler and HTTP are left out, the same for both.
 */
async function coldStart(w: RunningWorker, x: number, keep = false): Promise<{ ms: number; sandbox?: any }> {
  const fn = await w.worker.container.resolve<any>(Tokens.FunctionLoader).load('slow');
  const backend = w.worker.container.resolve<any>(SandboxBackendPoint.token);
  const t = performance.now();
  const sandbox = await backend.create(fn);
  const out = await sandbox.invoke({ requestId: `bench-${x}`, body: Buffer.from(JSON.stringify({ x })), method: 'POST' });
  const ms = performance.now() - t;
  if (!out.ok || JSON.parse(out.body.toString()).x !== x) throw new Error(`bad answer: ${JSON.stringify(out)}`);
  if (!keep) await sandbox.destroy('bench: the next call is a cold start');
  return { ms, sandbox: keep ? sandbox : undefined };
}

/** USS and PSS (kB) of every process of the idle instance's cgroup, from /proc/<pid>/smaps_rollup. */
async function instanceMemory(sandbox: any): Promise<{ ussKb: number; pssKb: number; processes: number }> {
  const pids: number[] = await sandbox.cgroup.pids();
  let uss = 0;
  let pss = 0;
  for (const pid of pids) {
    const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
    uss += field('Private_Clean') + field('Private_Dirty');
    pss += field('Pss');
  }
  return { ussKb: uss, pssKb: pss, processes: pids.length };
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function main(): Promise<void> {
  const fns = functionsDir();
  const fresh = await worker(false, fns);
  const zyg = await worker(true, fns);
  try {
    // Warm-up: the suitability probe and the zygote start happen once, outside the figures.
    await coldStart(zyg, -1);
    await coldStart(fresh, -1);
    const times = { fresh: [] as number[], zygote: [] as number[] };
    for (let i = 0; i < ROUNDS; i++) {
      times.fresh.push((await coldStart(fresh, i)).ms);
      times.zygote.push((await coldStart(zyg, i)).ms);
      process.stderr.write(`round ${i + 1}/${ROUNDS}: fresh ${times.fresh[i].toFixed(0)} ms, zygote ${times.zygote[i].toFixed(0)} ms\n`);
    }
    const forks = (await zyg.admin('GET', '/zygote/tree')).json.zygotes[0]?.forks ?? 0;
    if (forks < ROUNDS) throw new Error(`only ${forks} of ${ROUNDS} zygote cold starts were forks; the figures would be wrong`);
    // Idle instances (after their first call): what each costs in memory of its own.
    const idleFresh = (await coldStart(fresh, 1000, true)).sandbox;
    const idleZygote = (await coldStart(zyg, 1000, true)).sandbox;
    const memFresh = await instanceMemory(idleFresh);
    const memZygote = await instanceMemory(idleZygote);
    const row = (name: string, xs: number[]) => ({ p50: percentile(xs, 50), p99: percentile(xs, 99), min: Math.min(...xs), max: Math.max(...xs), name });
    const result = {
      rounds: ROUNDS,
      machine: { cpus: os.cpus().length, load: os.loadavg()[0], kernel: os.release() },
      coldStartMs: { fresh: row('fresh', times.fresh), zygote: row('zygote', times.zygote) },
      speedupP50: percentile(times.fresh, 50) / percentile(times.zygote, 50),
      idleInstanceMemoryKb: { fresh: memFresh, zygote: memZygote },
      raw: times,
    };
    fs.mkdirSync(path.join(REPO, 'bench/results'), { recursive: true });
    fs.writeFileSync(path.join(REPO, 'bench/results/zygote.json'), JSON.stringify(result, null, 2) + '\n');
    const f = (n: number) => n.toFixed(0).padStart(7);
    process.stdout.write(
      [
        `zygote bench: ${ROUNDS} cold starts each (sandbox create + first answer), alternating; the function imports slowpkg (~200 ms, ~20 MB at import)`,
        '',
        '| cold start (ms) |     p50 |     p99 |     min |     max |',
        '| --- | ---: | ---: | ---: | ---: |',
        `| fresh sandbox   | ${f(result.coldStartMs.fresh.p50)} | ${f(result.coldStartMs.fresh.p99)} | ${f(result.coldStartMs.fresh.min)} | ${f(result.coldStartMs.fresh.max)} |`,
        `| zygote fork     | ${f(result.coldStartMs.zygote.p50)} | ${f(result.coldStartMs.zygote.p99)} | ${f(result.coldStartMs.zygote.min)} | ${f(result.coldStartMs.zygote.max)} |`,
        '',
        `speed-up at p50: ${result.speedupP50.toFixed(1)}x (target: at least 5x); load average ${result.machine.load.toFixed(1)} on ${result.machine.cpus} CPUs`,
        '',
        '| idle instance (all its processes) | USS (kB) | PSS (kB) | processes |',
        '| --- | ---: | ---: | ---: |',
        `| fresh sandbox | ${memFresh.ussKb} | ${memFresh.pssKb} | ${memFresh.processes} |`,
        `| forked from zygote | ${memZygote.ussKb} | ${memZygote.pssKb} | ${memZygote.processes} |`,
        '',
      ].join('\n'),
    );
  } finally {
    await fresh.stop();
    await zyg.stop();
    fs.rmSync(fns, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`zygote bench failed: ${(e as Error).stack}\n`);
  process.exit(1);
});
