/**
 * `node dist/bench/packages.js [--runs N]`: resolve + install time of a
 * 30-package graph served by a local PEP 691 index, cold (empty store) and
 * warm (every version already in the store), with pip installing the same
 * graph from the same index as the baseline for the cold case.
 * A standalone script (bench/run.ts belongs to the benchmarks suite runner).
 */
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { IndexServer } from '../plugins/pypi/test/helpers/index-server';
import { makeResolver } from '../plugins/pypi/test/helpers/resolver-fixture';

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
  } finally {
    await index.stop();
  }
  const rows = [
    ['resolve+install, cold (empty store)', median(cold), Math.min(...cold), Math.max(...cold)],
    ['resolve+install, warm (all in store)', median(warm), Math.min(...warm), Math.max(...warm)],
    ...(pip.length ? [['pip install --target, no cache (baseline)', median(pip), Math.min(...pip), Math.max(...pip)]] : []),
  ] as [string, number, number, number][];
  console.log(`package graph: ${installed} packages installed (${PACKAGES} published, ${VERSIONS.length} versions each), ${runs} runs, loopback index`);
  for (const [what, med, min, max] of rows) console.log(`${what.padEnd(44)} median ${med.toFixed(0).padStart(6)} ms  (min ${min.toFixed(0)}, max ${max.toFixed(0)})`);
  if (pip.length) console.log(`cold / pip: ${(median(cold) / median(pip)).toFixed(2)}x`);
  const out = path.resolve(__dirname, '../../bench/results/packages.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ packages: installed, runs, cold_ms: cold, warm_ms: warm, pip_cold_ms: pip }, null, 2) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
