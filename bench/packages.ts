/**
 * `node dist/bench/packages.js [--runs N]`: resolve + install time of a
 * 30-package graph served by a local PEP 691 index, cold (empty store) and
 * warm (every version already in the store), with pip installing the same
 * graph from the same index as the baseline for the cold case; and the first
 * /run of a function whose package is published only as an sdist (built in
 * a sandbox with setuptools) against a function whose package is a wheel.
 * A standalone script (bench/run.ts belongs to the benchmarks suite runner).
 */
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { IndexServer } from '../plugins/pypi/test/helpers/index-server';
import { functionDir, makeResolver } from '../plugins/pypi/test/helpers/resolver-fixture';
import { startWorker } from '../test/helpers/worker-fixture';

const PACKAGES = 30;
const VERSIONS = ['1.0', '1.1', '2.0'];

/**
 * pkg-00 needs pkg-01..05; each pkg-k needs the next two with a range that
 * excludes their newest version, so the resolver reads several versions'
 * metadata and backtracks now and then, as on a real graph.
 */
function publishGraph(index: IndexServer): void {
  for (let k = 0; k < PACKAGES; k++) {
    const name = `pkg-${String(k).padStart(2, '0')}`;
    const deps = k === 0 ? [1, 2, 3, 4, 5] : [k + 1, k + 2].filter((d) => d < PACKAGES);
    for (const v of VERSIONS) {
      const requires = deps.map((d) => `pkg-${String(d).padStart(2, '0')}${v === '2.0' ? '>=2.0' : '>=1.0,<2'}`);
      index.publish({ name, version: v, requires, files: { [`pkg_${k}/__init__.py`]: `VERSION = "${v}"\n`, [`pkg_${k}/data.py`]: `DATA = ${JSON.stringify('x'.repeat(20000))}\n` } });
    }
  }
}

async function time<T>(f: () => Promise<T>): Promise<[number, T]> {
  const t = process.hrtime.bigint();
  const r = await f();
  return [Number(process.hrtime.bigint() - t) / 1e6, r];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * First /run of a function needing `built` (an sdist: unpack, sandboxed
 * setuptools build, install) and of one needing `plain` (a wheel), each on a
 * fresh worker; then a second function needing `built` (store hit).
 */
async function sdistRuns(index: IndexServer, runs: number): Promise<{ sdist: number[]; wheel: number[]; again: number[] }> {
  index.publishSdist('built', '1.0', { 'setup.py': 'from setuptools import setup\nsetup(name="built", version="1.0", packages=["built"])\n', 'built/__init__.py': 'VERSION = "1.0"\n' });
  index.publish({ name: 'plain', version: '1.0' });
  const fnRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'olbench-sdist-'));
  for (const [fn, pkg] of [['sdist1', 'built'], ['sdist2', 'built'], ['wheel1', 'plain']]) {
    functionDir(fnRoot, fn, { 'requirements.txt': `${pkg}\n`, 'f.py': `import ${pkg}\ndef f(event):\n    return ${pkg}.VERSION\n` });
  }
  const out = { sdist: [] as number[], wheel: [] as number[], again: [] as number[] };
  try {
    for (let i = 0; i < runs; i++) {
      const w = await startWorker([`registry-dir.dirs=[${fnRoot}]`, `pypi.index_url=${index.url}`]);
      try {
        const call = async (fn: string) => {
          const [ms, r] = await time(() => w.run(fn, {}));
          if (r.status !== 200) throw new Error(`${fn}: ${r.status} ${r.text}`);
          return ms;
        };
        out.sdist.push(await call('sdist1'));
        out.again.push(await call('sdist2'));
        out.wheel.push(await call('wheel1'));
      } finally {
        await w.stop();
      }
    }
  } finally {
    fs.rmSync(fnRoot, { recursive: true, force: true });
  }
  return out;
}

async function pipBaseline(index: IndexServer): Promise<number | null> {
  const target = fs.mkdtempSync(path.join(os.tmpdir(), 'olbench-pip-'));
  try {
    const [ms] = await time(() => promisify(execFile)('/usr/bin/python3', ['-m', 'pip', 'install', '-q', '--no-cache-dir', '--disable-pip-version-check', '--only-binary', ':all:', '--index-url', index.url, '--target', target, 'pkg-00<2']));
    return ms;
  } catch {
    return null; // pip is not installed for /usr/bin/python3 here
  } finally {
    fs.rmSync(target, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;
  const index = await new IndexServer().start();
  publishGraph(index);
  const cold: number[] = [];
  const warm: number[] = [];
  const pip: number[] = [];
  let installed = 0;
  let builds: Awaited<ReturnType<typeof sdistRuns>> = { sdist: [], wheel: [], again: [] };
  try {
    for (let i = 0; i < runs; i++) {
      const r = makeResolver({ index_url: index.url });
      try {
        const fnDir = path.join(r.dir, 'fn');
        fs.mkdirSync(fnDir);
        const [c, res] = await time(() => r.resolver.resolve('bench', ['pkg-00<2'], fnDir));
        installed = res.pins.length;
        cold.push(c);
        // Warm: another function with the same graph on the same store.
        warm.push((await time(() => r.resolver.resolve('bench2', ['pkg-00<2'], fnDir)))[0]);
      } finally {
        r.cleanup();
      }
      const p = await pipBaseline(index);
      if (p !== null) pip.push(p);
    }
    builds = await sdistRuns(index, runs);
  } finally {
    await index.stop();
  }
  const rows = [
    ['resolve+install, cold (empty store)', median(cold), Math.min(...cold), Math.max(...cold)],
    ['resolve+install, warm (all in store)', median(warm), Math.min(...warm), Math.max(...warm)],
    ...(pip.length ? [['pip install --target, no cache (baseline)', median(pip), Math.min(...pip), Math.max(...pip)]] : []),
    ['first /run, package only as sdist (built)', median(builds.sdist), Math.min(...builds.sdist), Math.max(...builds.sdist)],
    ['first /run, package as wheel (baseline)', median(builds.wheel), Math.min(...builds.wheel), Math.max(...builds.wheel)],
    ['first /run, sdist package already built', median(builds.again), Math.min(...builds.again), Math.max(...builds.again)],
  ] as [string, number, number, number][];
  console.log(`package graph: ${installed} packages installed (${PACKAGES} published, ${VERSIONS.length} versions each), ${runs} runs, loopback index`);
  for (const [what, med, min, max] of rows) console.log(`${what.padEnd(44)} median ${med.toFixed(0).padStart(6)} ms  (min ${min.toFixed(0)}, max ${max.toFixed(0)})`);
  if (pip.length) console.log(`cold / pip: ${(median(cold) / median(pip)).toFixed(2)}x`);
  const out = path.resolve(__dirname, '../../bench/results/packages.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ packages: installed, runs, cold_ms: cold, warm_ms: warm, pip_cold_ms: pip, sdist_first_run_ms: builds.sdist, wheel_first_run_ms: builds.wheel, built_again_first_run_ms: builds.again }, null, 2) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
