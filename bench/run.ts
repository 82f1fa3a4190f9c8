/**
 * `npm run bench [-- --quick] [-- --only warm-echo,cold-start]`: runs every
 * suite in bench/suites/ against baselines measured in the same run, prints
 * one table and writes bench/results/latest.json (and latest.md).
 */
import 'reflect-metadata';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { BenchContext, REPO } from './lib/context';
import { machine } from './lib/machine';
import { textReport, writeReports, type RunReport, type SuiteReport } from './lib/report';
import { msSince } from './lib/stats';
import type { BenchSuite } from './lib/suite';

const SUITES_DIR = path.join(__dirname, 'suites');

/** Every compiled suite file's default export, in order. */
export function discoverSuites(dir = SUITES_DIR): BenchSuite[] {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.js'));
  const suites = files.map((f) => {
    const mod = require(path.join(dir, f));
    const suite: BenchSuite | undefined = mod.default;
    if (!suite || typeof suite.run !== 'function' || !suite.name) {
      throw new Error(`bench/suites/${f.replace(/\.js$/, '.ts')} must default-export defineSuite({ name, title, run })`);
    }
    return suite;
  });
  return suites.sort((a, b) => (a.order ?? 100) - (b.order ?? 100) || a.name.localeCompare(b.name));
}

async function main(): Promise<void> {
  const opts = new Command('bench')
    .description('OL Kernel benchmarks, each against a baseline measured in the same run')
    .option('--quick', 'fewer runs and shorter ones (about a minute): a smoke test, not figures to quote')
    .option('--only <names>', 'comma-separated suite names to run (see --list)')
    .option('--list', 'list the suites and exit')
    .option('--out <file>', 'where to write the JSON (a .md beside it)', path.join(REPO, 'bench/results/latest.json'))
    .option('-q, --quiet', 'no progress lines on stderr')
    .parse()
    .opts();
  let suites = discoverSuites();
  if (opts.list) {
    for (const s of suites) console.log(`${s.name.padEnd(20)} ${s.title}`);
    return;
  }
  if (opts.only) {
    const wanted: string[] = String(opts.only).split(',').map((s) => s.trim());
    const unknown = wanted.filter((w) => !suites.some((s) => s.name === w));
    if (unknown.length) throw new Error(`no suite named ${unknown.join(', ')}; the suites are: ${suites.map((s) => s.name).join(', ')}`);
    suites = suites.filter((s) => wanted.includes(s.name));
  }
  if (process.getuid?.() !== 0) throw new Error('npm run bench must run as root: it creates real sandboxes (namespaces, cgroups, mounts)');

  let ctx: BenchContext | undefined;
  const stop = () => void (ctx?.cleanup() ?? Promise.resolve()).then(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const started = process.hrtime.bigint();
  const loadAtStart = os.loadavg()[0];
  const reports: SuiteReport[] = [];
  for (const s of suites) {
    // A context per suite: each measures on a machine holding only what it started, not
    // the idle workers, zygotes and runtimes of the suites before it (their timers and
    // spares ran beside its measurements and showed up in its tail latencies).
    ctx = new BenchContext(Boolean(opts.quick), !opts.quiet);
    try {
      reports.push(await runSuite(ctx, s));
    } finally {
      await ctx.cleanup();
    }
  }
  const run: RunReport = { machine: machine(loadAtStart), mode: opts.quick ? 'quick' : 'full', seconds: msSince(started) / 1000, suites: reports };
  console.log(textReport(run));
  const files = writeReports(run, path.resolve(opts.out));
  console.log(`\nwrote ${files.map((f) => path.relative(process.cwd(), f)).join(' and ')}`);
  if (reports.some((r) => r.error)) process.exitCode = 1;
}

/** One suite; a failure is reported in its section and the run goes on. */
async function runSuite(ctx: BenchContext, s: BenchSuite): Promise<SuiteReport> {
  process.stderr.write(`bench: ${s.name}: ${s.title}\n`);
  const t = process.hrtime.bigint();
  try {
    const r = await s.run(ctx);
    return { name: s.name, title: s.title, seconds: msSince(t) / 1000, ...r };
  } catch (e) {
    process.stderr.write(`bench: ${s.name} failed: ${(e as Error).stack}\n`);
    return { name: s.name, title: s.title, seconds: msSince(t) / 1000, rows: [], error: (e as Error).message };
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(`bench: ${(e as Error).message}`);
    process.exit(1);
  });
}
