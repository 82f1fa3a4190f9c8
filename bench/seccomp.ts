// Overhead of the sandbox seccomp filter on syscall-heavy code, with vs
// without the filter, interleaved in the same run. Runs alone, as root:
//   npx tsc -p . && make -C native && node dist/bench/seccomp.js [--rounds N]
// Writes bench/results/seccomp.json and prints a table.
import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { nativeArch } from '../plugins/seccomp/arch';
import { compileProfile } from '../plugins/seccomp/compile';
import { parseProfile } from '../plugins/seccomp/profile';

const REPO = path.resolve(__dirname, '../..');
const LAUNCHER = path.join(REPO, 'native/build/ol-launcher');
const ROUNDS = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 7;

/** Workloads: each prints nanoseconds per operation. */
const WORKLOADS: Record<string, { what: string; program: (dir: string) => string[] }> = {
  'c-getppid': {
    what: 'C loop of 500k getppid() (a syscall doing almost nothing: the filter cost stands out)',
    program: () => ['/bench/loop', 'getppid', '500000'],
  },
  'c-stat': {
    what: 'C loop of 200k stat("/usr/bin") (path lookup: a typical syscall)',
    program: () => ['/bench/loop', 'stat', '200000'],
  },
  'python-mixed': {
    what: 'Python function body: 20k rounds of os.stat, open/read/close, os.getpid (about 5 syscalls a round)',
    program: () => ['/usr/bin/python3', '-S', '-c', PY],
  },
};

const C_LOOP = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
  long n = atol(argv[2]); struct stat st; struct timespec a, b;
  int use_stat = strcmp(argv[1], "stat") == 0;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) { if (use_stat) stat("/usr/bin", &st); else syscall(SYS_getppid); }
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.1f\\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
  return 0;
}
`;

const PY = `import os, time
n = 20000
t = time.perf_counter_ns()
for i in range(n):
    os.stat('/usr/bin')
    with open('/proc/self/stat', 'rb') as fh:
        fh.read()
    os.getpid()
print((time.perf_counter_ns() - t) / n)`;

function runOnce(dir: string, program: string[], filter?: string): number {
  const root = fs.mkdtempSync(path.join(dir, 'root-'));
  const args = [
    '--root', root, '--ro-bind', '/usr', '/usr', '--ro-bind-try', '/lib', '/lib', '--ro-bind-try', '/lib64', '/lib64', '--ro-bind-try', '/bin', '/bin',
    '--proc', '/proc', '--dev', '/dev', '--ro-bind', path.join(dir, 'bin'), '/bench', '--uid', '65534', '--gid', '65534',
    ...(filter ? ['--seccomp', filter] : []), '--', ...program,
  ];
  const r = cp.spawnSync(LAUNCHER, args, { encoding: 'utf8' });
  fs.rmdirSync(root);
  if (r.status !== 0) throw new Error(`benchmark program failed (${r.status}): ${r.stderr}`);
  return Number(r.stdout.trim());
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function main(): void {
  if (process.getuid?.() !== 0) throw new Error('run as root: the launcher builds real sandboxes');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ol-bench-seccomp-'));
  try {
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.writeFileSync(path.join(dir, 'loop.c'), C_LOOP);
    cp.execFileSync('cc', ['-O2', '-o', path.join(dir, 'bin/loop'), path.join(dir, 'loop.c')]);
    const profile = parseProfile(fs.readFileSync(path.join(REPO, 'plugins/seccomp/profiles/default.json'), 'utf8'), 'default.json');
    const compiled = compileProfile(profile, nativeArch());
    const filter = path.join(dir, 'leaf.bpf');
    fs.writeFileSync(filter, compiled.program);
    const results = Object.entries(WORKLOADS).map(([name, w]) => {
      const without: number[] = [];
      const withFilter: number[] = [];
      // Interleaved, so drift of the machine hits both sides alike.
      for (let i = 0; i < ROUNDS; i++) {
        without.push(runOnce(dir, w.program(dir)));
        withFilter.push(runOnce(dir, w.program(dir), filter));
      }
      const a = median(without);
      const b = median(withFilter);
      return { name, what: w.what, rounds: ROUNDS, nsPerOpWithout: a, nsPerOpWith: b, overheadNs: +(b - a).toFixed(1), overheadPercent: +((100 * (b - a)) / a).toFixed(1) };
    });
    const report = { date: new Date().toISOString(), kernel: os.release(), arch: nativeArch().name, filterInstructions: compiled.length, results };
    fs.mkdirSync(path.join(REPO, 'bench/results'), { recursive: true });
    fs.writeFileSync(path.join(REPO, 'bench/results/seccomp.json'), JSON.stringify(report, null, 2) + '\n');
    console.log(`seccomp filter overhead (default leaf profile, ${compiled.length} BPF instructions, ${report.arch}, kernel ${report.kernel}; median of ${ROUNDS} interleaved runs)`);
    console.log('| workload | ns/op without | ns/op with | overhead |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const r of results) console.log(`| ${r.name} | ${r.nsPerOpWithout.toFixed(1)} | ${r.nsPerOpWith.toFixed(1)} | ${r.overheadNs} ns (${r.overheadPercent}%) |`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
