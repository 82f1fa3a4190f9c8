import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { REPO } from './context';

/** What the figures were measured on; printed above the table and stored in the JSON. */
export interface Machine {
  line: string;
  cpu: string;
  cores: number;
  memGiB: number;
  kernel: string;
  cgroups: string;
  node: string;
  python: string;
  bwrap: string;
  commit: string;
  date: string;
  /** 1-minute load averages as the run started and ended: above the core count, other work competed with the benchmark. */
  load: [number, number];
}

export function machine(loadAtStart: number): Machine {
  const cpus = os.cpus();
  const cpu = (cpus[0]?.model ?? 'unknown cpu').replace(/\s+/g, ' ').trim();
  const m: Omit<Machine, 'line'> = {
    cpu,
    cores: cpus.length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    cgroups: cgroupMode(),
    node: process.version,
    python: run('/usr/bin/python3', ['--version']).replace(/^Python /, ''),
    bwrap: run('/usr/bin/bwrap', ['--version']).replace(/^bubblewrap /, ''),
    commit: run('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']) + (run('git', ['-C', REPO, 'status', '--porcelain']) ? '+dirty' : ''),
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    load: [loadAtStart, os.loadavg()[0]].map((l) => Math.round(l * 10) / 10) as [number, number],
  };
  const line = `${m.cores} x ${m.cpu}, ${m.memGiB} GiB, Linux ${m.kernel} (${m.cgroups}), Node ${m.node}, Python ${m.python}, bwrap ${m.bwrap}, commit ${m.commit}, ${m.date}, load ${m.load.join(' -> ')}${Math.max(...m.load) > m.cores ? ' (busy: other work competed with the benchmark)' : ''}`;
  return { line, ...m };
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? (r.stdout || r.stderr).trim() : 'n/a';
}

function cgroupMode(): string {
  if (fs.existsSync('/sys/fs/cgroup/cgroup.controllers')) return 'cgroup v2';
  return fs.existsSync('/sys/fs/cgroup/memory') ? 'cgroup v1 hybrid' : 'no cgroups';
}
